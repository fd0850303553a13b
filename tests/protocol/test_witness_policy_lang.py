"""The consortium's witness policy and consortium.toml in the reader's language (issue 17 point
1): the policy's finding (published / not published), each refusal of a checkpoint (too few
cosignatures, with the ignored lines; a log outside the consortium; no checkpoint) and the
file's mistakes render in Japanese with no English catalog text, and in English as their
``str()`` — which stays English for logs and the existing tests."""

from __future__ import annotations

import pytest

from eco_protocol.consortium import ConsortiumError, parse_consortium
from eco_protocol.messages import localize, render
from eco_protocol.note import CosignatureSigner, NoteSigner, sign_note
from eco_protocol.witness_policy import NotPublished, check_policy, quorum_of, require_published
from tests.protocol.records_kit import fixed_key
from tests.support.lang_kit import assert_english, assert_japanese

A = NoteSigner("eco-ledger.a.test", fixed_key("policy-lang/log-a"))
OUTSIDER = NoteSigner("eco-ledger.x.test", fixed_key("policy-lang/log-x"))
WA = CosignatureSigner("witness.a.test", fixed_key("policy-lang/w-a"))
WB = CosignatureSigner("witness.b.test", fixed_key("policy-lang/w-b"))
BODY = CosignatureSigner("witness.body.test", fixed_key("policy-lang/w-body"))


def _config(quorum: str = "2", extra: str = "") -> str:
    witnesses = "".join(f'[[witnesses]]\nname = "{w.name}"\nkey = "{w.verifier.vkey}"\n\n'
                        for w in (WA, WB, BODY))
    return (f'name = "lang-consortium"\n\n[[members]]\nname = "town-a"\n'
            f'log_key = "{A.verifier.vkey}"\nurl = "https://a.test"\nwitness = "{WA.name}"\n'
            f"{extra}\n{witnesses}[policy]\nquorum = {quorum}\n")


def _checkpoint(log: NoteSigner, *cosigners: CosignatureSigner) -> str:
    text = f"{log.name}\n5\n{'A' * 43}=\n"
    return sign_note(text, [log]) + "".join(w.cosign(text, 1_795_000_000).line
                                            for w in cosigners)


def _both(err: Exception | str, english_start: str) -> None:
    """Japanese in Japanese, English as its str() (or as the Said line is)."""
    ja = localize(err, "ja") if isinstance(err, str) else render(err, "ja")
    en = localize(err, "en") if isinstance(err, str) else render(err, "en")
    assert_japanese(ja)
    assert_english(en)
    assert en.startswith(english_start) and en == str(err)


def test_the_policys_findings_in_both_languages() -> None:
    c = parse_consortium(_config())
    _both(require_published(c, _checkpoint(A, WB, BODY)).describe(),
          "published under the consortium's policy: 2 of 2")
    _both(quorum_of(c, _checkpoint(A, BODY)).describe(), "NOT published")
    with pytest.raises(NotPublished) as exc:
        require_published(c, _checkpoint(A, WA, BODY))  # the log's own witness does not count
    _both(exc.value, "checkpoint of town-a (size 5) is not published: 1 of the 2")
    assert "witness.a.test" in render(exc.value, "ja")
    with pytest.raises(NotPublished) as exc:
        quorum_of(c, _checkpoint(OUTSIDER, WB, BODY))
    _both(exc.value, "the checkpoint's log 'eco-ledger.x.test' is not a member")
    with pytest.raises(NotPublished) as exc:
        check_policy(_config(), "c.toml", None)
    _both(exc.value, "there is no checkpoint")


@pytest.mark.parametrize(("text", "start"), [
    (_config(quorum="9"), "c.toml: policy.quorum must be an integer from 1 to 3"),
    (_config(extra='colour = "green"\n'), "c.toml: unknown key members[0].colour"),
    (_config(quorum="[oops"), "c.toml: not valid TOML"),
    ('name = "x"\n', "c.toml: [[witnesses]] is missing"),
    (_config().replace("https://a.test", "ftp://a.test"), "c.toml: members[0].url must be"),
])
def test_consortium_file_mistakes_in_both_languages(text: str, start: str) -> None:
    with pytest.raises(ConsortiumError) as exc:
        parse_consortium(text, "c.toml")
    _both(exc.value, start)
