"""consortium.toml (the pure parser: every error names its key) and the witness policy (k of the
named witnesses of a log; unknown keys never count; the member's own witness never counts for
its own log; a log outside the consortium is refused)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eco_protocol.consortium import ConsortiumError, parse_consortium
from eco_protocol.errors import NoteError
from eco_protocol.note import CosignatureSigner, NoteSigner, sign_note
from eco_protocol.witness_policy import (
    NotPublished,
    check_policy,
    quorum_of,
    require_published,
)
from tests.protocol.records_kit import fixed_key

A = NoteSigner("eco-ledger.a.test", fixed_key("consortium/log-a"))
B = NoteSigner("eco-ledger.b.test", fixed_key("consortium/log-b"))
OUTSIDER = NoteSigner("eco-ledger.x.test", fixed_key("consortium/log-x"))
WA = CosignatureSigner("witness.a.test", fixed_key("consortium/w-a"))
WB = CosignatureSigner("witness.b.test", fixed_key("consortium/w-b"))
BODY = CosignatureSigner("witness.body.test", fixed_key("consortium/w-body"))
STRANGER = CosignatureSigner("witness.stranger.test", fixed_key("consortium/w-stranger"))
T = 1_795_000_000


def _config(quorum: object = 2, extra_policy: str = "", member_a: str = "") -> str:
    q = f'"{quorum}"' if isinstance(quorum, str) else str(quorum)
    return f"""
name = "test-consortium"

[[members]]
name = "town-a"
origin = "{A.name}"
log_key = "{A.verifier.vkey}"
url = "http://a.test:8080/"
witness = "{WA.name}"
{member_a}
[[members]]
name = "town-b"
log_key = "{B.verifier.vkey}"
url = "https://b.test"
witness = "{WB.name}"

[[witnesses]]
name = "{WA.name}"
key = "{WA.verifier.vkey}"

[[witnesses]]
name = "{WB.name}"
key = "{WB.verifier.vkey}"

[[witnesses]]
name = "{BODY.name}"
key = "{BODY.verifier.vkey}"
url = "https://body.test"

[policy]
quorum = {q}
{extra_policy}
"""


def _checkpoint(log: NoteSigner, *cosigners: CosignatureSigner, size: int = 5) -> str:
    text = f"{log.name}\n{size}\n{'A' * 43}=\n"
    note = sign_note(text, [log])
    return note + "".join(w.cosign(text, T).line for w in cosigners)


# --- the parser ----------------------------------------------------------------------------------


def test_a_full_configuration() -> None:
    c = parse_consortium(_config())
    assert c.name == "test-consortium"
    assert [m.name for m in c.members] == ["town-a", "town-b"]
    a, b = c.members
    assert a.origin == A.name and a.log_key == A.verifier and a.url == "http://a.test:8080"
    assert b.origin == B.name  # defaults to the log key's name
    assert c.policy.quorum == 2 and c.policy.witnesses == (WA.name, WB.name, BODY.name)
    assert [w.name for w in c.witnesses_for(a)] == [WB.name, BODY.name]
    assert c.witness(BODY.name).url == "https://body.test"
    assert [m.name for m in c.others("town-a")] == ["town-b"]
    assert c.member_for_origin(OUTSIDER.name) is None


@pytest.mark.parametrize(("text", "names"), [
    ("[[members]\n", "not valid TOML"),
    (_config().replace('url = "https://b.test"\n', ""), "members[1].url is missing"),
    (_config().replace('url = "https://b.test"', 'url = "ftp://b.test"'),
     "members[1].url must be an http:// or https:// URL"),
    (_config().replace(f'log_key = "{B.verifier.vkey}"', 'log_key = "nonsense"'),
     "members[1].log_key: malformed verifier key"),
    (_config().replace(f'log_key = "{B.verifier.vkey}"', f'log_key = "{WB.verifier.vkey}"'),
     "members[1].log_key"),
    (_config().replace(f'origin = "{A.name}"', 'origin = "eco-ledger.other.test"'),
     "members[0].origin is 'eco-ledger.other.test' but log_key is the key of"),
    (_config(member_a="colour = 1"), "unknown key members[0].colour"),
    (_config().replace(f'witness = "{WB.name}"', 'witness = "nobody"'),
     "members[1].witness 'nobody' is not the name of a [[witnesses]] table"),
    (_config().replace(f'name = "{BODY.name}"', 'name = "body"'),
     "witnesses[2].name is 'body' but its key is named 'witness.body.test'"),
    (_config().replace(f'key = "{BODY.verifier.vkey}"', 'key = "x+1+2"'), "witnesses[2].key"),
    (_config(quorum=3), "policy.quorum 3 cannot be reached for member 'town-a'"),
    (_config(quorum=0), "policy.quorum must be an integer from 1 to 3"),
    (_config(quorum="most"), "policy.quorum must be an integer from 1 to 3"),
    (_config(extra_policy='witnesses = ["witness.nobody.test"]'),
     "policy.witnesses names 'witness.nobody.test', which is not a [[witnesses]] table"),
    (_config().replace("[policy]\nquorum = 2\n", ""), "[policy] is missing"),
    (_config().replace('name = "town-b"', 'name = "town-a"'),
     "members[1].name 'town-a' is already the name of member 'town-a'"),
    ('name = "x"\n', "[[witnesses]] is missing"),
])
def test_a_configuration_error_names_the_key(text: str, names: str) -> None:
    with pytest.raises(ConsortiumError) as e:
        parse_consortium(text, "/etc/eco/consortium.toml")
    assert names in str(e.value)
    assert str(e.value).startswith("/etc/eco/consortium.toml: ")


def test_any_is_one_and_a_named_subset_narrows_the_policy() -> None:
    assert parse_consortium(_config(quorum="any")).policy.quorum == 1
    c = parse_consortium(_config(quorum=1, extra_policy=f'witnesses = ["{BODY.name}"]'))
    assert [w.name for w in c.witnesses_for(c.members[0])] == [BODY.name]


# --- the policy ----------------------------------------------------------------------------------


def test_a_quorum_of_named_witnesses_publishes() -> None:
    c = parse_consortium(_config())
    q = require_published(c, _checkpoint(A, WB, BODY))
    assert q.reached and q.cosigned == (WB.name, BODY.name) and q.member.name == "town-a"
    assert q.describe().startswith("published under the consortium's policy: 2 of 2")


def test_the_logs_own_witness_does_not_count_for_its_own_log() -> None:
    c = parse_consortium(_config())
    q = quorum_of(c, _checkpoint(A, WA, BODY))
    assert not q.reached and q.cosigned == (BODY.name,) and q.ignored == (WA.name,)
    with pytest.raises(NotPublished, match=r"1 of the 2 required .* do not count \(witness\.a"):
        require_published(c, _checkpoint(A, WA, BODY))


def test_a_cosignature_by_an_unknown_key_does_not_count() -> None:
    c = parse_consortium(_config())
    forged_b = CosignatureSigner(WB.name, fixed_key("consortium/not-wb"))  # WB's name, not key
    for note in (_checkpoint(A, STRANGER, BODY), _checkpoint(A, forged_b, BODY)):
        q = quorum_of(c, note)
        assert q.cosigned == (BODY.name,) and not q.reached


def test_a_log_outside_the_consortium_is_refused() -> None:
    with pytest.raises(NotPublished, match="'eco-ledger.x.test' is not a member of consortium "
                                           "'test-consortium'"):
        quorum_of(parse_consortium(_config()), _checkpoint(OUTSIDER, WA, WB, BODY))


def test_a_checkpoint_not_signed_by_the_members_key_is_refused() -> None:
    impostor = NoteSigner(A.name, fixed_key("consortium/impostor"))
    with pytest.raises(NoteError, match="not signed by the log key eco-ledger.a.test"):
        quorum_of(parse_consortium(_config()), _checkpoint(impostor, WB, BODY))


def test_check_policy_is_what_eco_verify_calls() -> None:
    assert check_policy(_config(), "c.toml", _checkpoint(B, WA, BODY)).reached
    with pytest.raises(NotPublished, match="no checkpoint"):
        check_policy(_config(), "c.toml", None)
    with pytest.raises(ConsortiumError, match="c.toml: policy.quorum"):
        check_policy(_config(quorum=9), "c.toml", _checkpoint(B, WA, BODY))


def test_the_documented_example_parses_once_its_keys_are_real() -> None:
    """docs/consortium.md's commented example, with each elided key replaced by a real key of
    the same name, is a valid consortium (so the documentation cannot drift from the parser)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "consortium.md").read_text("utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]

    def real(m: re.Match[str]) -> str:
        name = m.group(2)
        if m.group(1) == "log_key":
            vkey = NoteSigner(name, fixed_key(f"doc/{name}")).verifier.vkey
        else:
            vkey = CosignatureSigner(name, fixed_key(f"doc/{name}")).verifier.vkey
        return f'{m.group(1)} = "{vkey}"'

    text, n = re.subn(r'(log_key|key) = "([^+"]+)\+[0-9a-f]{8}\+[A-Za-z]+…"', real, example)
    assert n == 5
    c = parse_consortium(text, "docs/consortium.md")
    assert [m.name for m in c.members] == ["town-a", "town-b"]
    assert c.policy.quorum == 2 and len(c.witnesses) == 3
    assert [w.name for w in c.witnesses_for(c.member("town-a"))] == [
        "witness.town-b.lg.jp", "witness.verifier.example.or.jp"]
