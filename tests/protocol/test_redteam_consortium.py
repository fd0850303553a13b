"""Red team of the consortium's witness policy (issue 18): one key must never count as two
witnesses, and a member's log key must never count as a witness (a log cannot vouch for
itself) — each refused when the consortium file is read, naming the key."""

from __future__ import annotations

import pytest

from eco_protocol.basket import BasketBatch, double_credits, incomparable
from eco_protocol.claim_tokens import ClaimSecret, claim_token, parse_equipment
from eco_protocol.consortium import ConsortiumError, parse_consortium
from eco_protocol.coverage import PV
from eco_protocol.messages import localize, render
from eco_protocol.note import CosignatureSigner, NoteSigner, sign_note
from eco_protocol.programme_records import Period
from eco_protocol.witness_policy import require_published
from tests.protocol.records_kit import fixed_key

A = NoteSigner("eco-ledger.a.test", fixed_key("redteam/log-a"))
B = NoteSigner("eco-ledger.b.test", fixed_key("redteam/log-b"))
W1 = CosignatureSigner("witness.one.test", fixed_key("redteam/w"))
W2 = CosignatureSigner("witness.two.test", fixed_key("redteam/w"))  # the same key, renamed
BODY = CosignatureSigner("witness.body.test", fixed_key("redteam/body"))
A_AS_WITNESS = CosignatureSigner("witness.a-log.test", fixed_key("redteam/log-a"))
T = 1_795_000_000


def _config(*witnesses: CosignatureSigner, quorum: int = 2) -> str:
    lines = "".join(f'[[witnesses]]\nname = "{w.name}"\nkey = "{w.verifier.vkey}"\n\n'
                    for w in witnesses)
    return f"""
name = "redteam"

[[members]]
name = "town-a"
log_key = "{A.verifier.vkey}"
url = "https://a.test"

[[members]]
name = "town-b"
log_key = "{B.verifier.vkey}"
url = "https://b.test"

{lines}[policy]
quorum = {quorum}
"""


def _checkpoint(log: NoteSigner, *cosigners: CosignatureSigner) -> str:
    text = f"{log.name}\n5\n{'A' * 43}=\n"
    return sign_note(text, [log]) + "".join(w.cosign(text, T).line for w in cosigners)


def test_one_key_under_two_names_is_refused() -> None:
    # before the fix the file was accepted and one key-holder's two lines made a quorum of 2
    with pytest.raises(ConsortiumError) as e:
        parse_consortium(_config(W1, W2, BODY), "c.toml")
    text = render(e.value, "en")
    assert "witnesses[1].key" in text and W1.name in text and "c.toml" in text
    ja = render(e.value, "ja")
    assert "witnesses[1].key" in ja and "同じ鍵" in ja


def test_a_member_log_key_as_witness_is_refused() -> None:
    # town-a's log key listed as a witness would cosign town-a's own checkpoints
    with pytest.raises(ConsortiumError) as e:
        parse_consortium(_config(A_AS_WITNESS, BODY, W1), "c.toml")
    text = render(e.value, "en")
    assert "witnesses[0].key" in text and "town-a" in text
    assert "ログ鍵" in render(e.value, "ja")


def test_distinct_keys_still_make_a_quorum() -> None:
    c = parse_consortium(_config(W1, BODY), "c.toml")
    q = require_published(c, _checkpoint(A, W1, BODY))
    assert q.cosigned == (BODY.name, W1.name)


def test_two_members_with_one_log_key_are_refused() -> None:
    # one key-holder signing as two towns: its double credits would look like two logs' claims
    twin = NoteSigner("eco-ledger.twin.test", fixed_key("redteam/log-a"))
    text = _config(W1, BODY).replace(
        "[[members]]\nname = \"town-b\"",
        f"[[members]]\nname = \"town-twin\"\nlog_key = \"{twin.verifier.vkey}\"\n"
        "url = \"https://twin.test\"\n\n[[members]]\nname = \"town-b\"")
    with pytest.raises(ConsortiumError) as e:
        parse_consortium(text, "c.toml")
    text_en = render(e.value, "en")
    assert "members[1].log_key" in text_en and "town-a" in text_en, text_en
    assert "同じ鍵" in render(e.value, "ja")


def test_tokens_under_different_secrets_are_said_to_be_incomparable() -> None:
    """Red team: a member enrolling with a claim-token secret of its own credits the same
    inverter as another member in the same period, and the basket found no double credit —
    its tokens can never equal the others'. The basket now says it could not compare them."""
    inverter = parse_equipment("inverter=SMA:1")
    mine = claim_token(ClaimSecret(b"\x01" * 32), inverter)
    private = claim_token(ClaimSecret(b"\x02" * 32), inverter)
    nov = Period("2026-10-31T15:00:00Z", "2026-11-30T15:00:00Z")
    a, b = (BasketBatch(f"{m}.json", m, f"{m}:b", PV, nov, 1, 1_000_000, 1, "published",
                        {t: f"dev-{m}"}, 0) for m, t in (("town-a", mine), ("town-b", private)))
    assert double_credits([a, b]) == []  # the blind spot
    (note,) = incomparable([a, b])
    assert "town-a's batch town-a:b" in note and mine.key_id in note and private.key_id in note
    assert "鍵ID" in localize(note, "ja")
    # same secret: comparable, nothing to say; another period: nothing to say
    assert incomparable([a, BasketBatch("c.json", "town-c", "c:b", PV, nov, 1, 1, 1, "p",
                                        {mine: "dev-c"}, 0)]) == []
