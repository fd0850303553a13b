"""A member that rewrites its history is caught by every mirror in the consortium (issue 18 point
6): each other member's mirror and the verification body's, each as its own ``eco-aggregator
mirror --once`` process against the member logs behind real read-API servers, records the fork
in its own FORK.json with both signed checkpoints, and goes on mirroring the honest members."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eco_protocol.note import open_checkpoint
from tests.aggregator.consortium_kit import (
    LOG_A,
    LOG_B,
    LOG_C,
    W_A,
    W_B,
    W_BODY,
    W_C,
    LiveLog,
    aggregator,
    live_logs,
    write_consortium,
)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Callable[..., LiveLog]]:
    with live_logs(tmp_path, (W_A.verifier, W_B.verifier, W_C.verifier, W_BODY.verifier)) as make:
        yield make


def _consortium(tmp_path: Path, a: str, b: str, c: str) -> Path:
    return write_consortium(tmp_path / "consortium.toml", [
        ("town-a", LOG_A.verifier.vkey, a, W_A.name),
        ("town-b", LOG_B.verifier.vkey, b, W_B.name),
        ("town-c", LOG_C.verifier.vkey, c, W_C.name),
    ], [W_A, W_B, W_C, W_BODY])


# each mirror in the consortium: town A's and town C's (each leaves its own log out) and the
# verification body's (every log)
HOLDERS: tuple[str | None, ...] = ("town-a", "town-c", None)


def _mirror(conf: Path, state: Path, member: str | None) -> tuple[int, dict[str, object], str]:
    r = aggregator("mirror", "--consortium", str(conf), "--state", str(state), "--once",
                   *(("--member", member) if member else ()))
    return r.returncode, json.loads(r.stdout), r.stderr


@pytest.mark.integration  # runs eco-aggregator as its own process, once per mirror and round
def test_a_member_rewriting_its_history_is_caught_by_every_mirror(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    a, honest, c = logs("a", LOG_A), logs("b", LOG_B, "honest"), logs("c", LOG_C)
    for live in (a, honest, c):
        live.grow(3)
    states = {m: tmp_path / f"mirror-{m or 'body'}" for m in HOLDERS}
    conf = _consortium(tmp_path, a.url, honest.url, c.url)
    for member, state in states.items():
        rc, out, err = _mirror(conf, state, member)
        assert rc == 0 and out["forks"] == [], err
    # town B's key signs another history: 5 entries whose first 3 are not the ones mirrored,
    # served where town B's log was (the consortium file is unchanged but for the URL)
    forked = logs("b-forked", LOG_B, "rewritten")
    forked.grow(5)
    a.grow(1)
    conf = _consortium(tmp_path, a.url, forked.url, c.url)
    for member, state in states.items():
        rc, out, err = _mirror(conf, state, member)
        assert rc == 3 and "LOG MISBEHAVIOUR" in err, (member, err)
        assert out["forks"] == ["town-b"]
        alarm = json.loads((state / "town-b" / "FORK.json").read_text())
        assert alarm["member"] == "town-b"
        assert open_checkpoint(alarm["trusted_checkpoint"], LOG_B.verifier)[0].size == 3
        assert open_checkpoint(alarm["conflicting_checkpoint"], LOG_B.verifier)[0].size == 5
        # the honest members are mirrored on, their growth included
        members = out["members"]
        assert isinstance(members, dict)
        expected = {"town-a": 4, "town-c": 3}
        for name, size in expected.items():
            if name != member:
                assert members[name]["size"] == size, (member, members)
