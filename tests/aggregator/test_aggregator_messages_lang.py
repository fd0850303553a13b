"""The aggregator's findings a person reads through the mirror, the witness and aggregator.toml,
in both languages (issue 17 point 1): raised by the real code, rendered in Japanese with no
English catalog text and no bare code, and in English exactly as their ``str()`` (the logs'
text). A fork found by the witness keeps its English reason as evidence but is told in the
reader's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.claim_settings import claim_settings
from aggregator.errors import AggregatorError, Inconsistent
from aggregator.tiles import VerifiedTileSource
from aggregator.witness import verify_step
from eco_protocol.errors import ProtocolError
from eco_protocol.messages import localize, msg, render, text
from eco_protocol.note import Checkpoint
from tests.support.lang_kit import assert_english, assert_japanese


def _both(err: AggregatorError | ProtocolError) -> str:
    assert_japanese(render(err, "ja"))
    assert_english(render(err, "en"))
    assert render(err, "en") == str(err)
    return render(err, "ja")


@pytest.mark.parametrize(("table", "english"), [
    ("not a table", "aggregator.toml: [consortium] must be a table"),
    ({"claim_secret_file": "k", "colour": "x"}, "aggregator.toml [consortium]: unknown key colour"),
    ({"claim_secret_file": " "}, "claim_secret_file must be a non-empty string"),
    ({"file": "c.toml"}, "claim_secret_file is missing"),
    ({"claim_secret_file": "k", "member": "town-a"}, "file, member and mirrors go together"),
])
def test_consortium_section_refusals(table: object, english: str) -> None:
    with pytest.raises(AggregatorError) as exc:
        claim_settings(table, Path, "aggregator.toml")
    assert english in str(exc.value)
    _both(exc.value)


def test_a_fork_found_by_the_witness_is_told_in_the_readers_language() -> None:
    trusted = Checkpoint("eco-ledger.a.test", 5, b"\x01" * 32)
    forked = Checkpoint("eco-ledger.a.test", 5, b"\x02" * 32)
    with pytest.raises(Inconsistent) as exc:
        verify_step(trusted, forked, lambda: VerifiedTileSource(5, b"\x02" * 32, bytes))
    reason = exc.value.reason
    assert reason == "the log signed two checkpoints of size 5 with different root hashes"
    assert_japanese(localize(reason, "ja"))
    line = text("aggregator.cli.misbehaviour", "ja", message=msg(
        "aggregator.mirror.fork", member="town-a", reason=reason, path="/m/town-a/FORK.json"))
    assert_japanese(line)
    assert "/m/town-a/FORK.json" in line


def test_tiles_that_do_not_reproduce_the_signed_root() -> None:
    source = VerifiedTileSource(3, b"\x07" * 32, lambda tile: b"\x00" * (32 * tile.width))
    with pytest.raises(ProtocolError) as exc:
        source.subtree(0, 0)
    assert "do not reproduce the root hash of the checkpoint of size 3" in str(exc.value)
    _both(exc.value)
    short = VerifiedTileSource(3, b"\x07" * 32, lambda tile: b"\x00" * 5)
    with pytest.raises(ProtocolError) as exc:
        short.subtree(0, 0)
    assert "has 5 bytes, expected 96" in str(exc.value)
    _both(exc.value)
