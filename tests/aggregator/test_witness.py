"""The witness: the decision (pure), its state file, and whole rounds against a real log behind a
real HTTP server on a free loopback port — first use, growth checked from tiles, nothing new,
a forked log (two ledgers with one key), a rollback, forged tiles from a static mirror, a log
that moves on while the witness cosigns, and the CLI end to end down to ``eco-verify``."""

from __future__ import annotations

import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main as aggregator_main
from aggregator.errors import EnvironmentProblem, Inconsistent, LogMisbehaviour, Rejected
from aggregator.http_api import ApiConfig, ApiServer
from aggregator.ledger import Ledger
from aggregator.store import SqliteStore
from aggregator.tiles import Tile, VerifiedTileSource, tile_data, write_static
from aggregator.witness import (
    LogClient,
    Misbehaviour,
    WitnessConfig,
    WitnessState,
    load_state,
    verify_step,
    witness_once,
)
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import b64decode, b64encode
from eco_protocol.errors import ProofError
from eco_protocol.keyfile import save_private_key
from eco_protocol.keys import public_key_raw
from eco_protocol.merkle import MemoryTree, SubtreeSource, leaf_hash, verify_consistency
from eco_protocol.note import (
    Checkpoint,
    CosignatureSigner,
    NoteSigner,
    cosignature_time,
    open_checkpoint,
    parse_witness_key,
)
from eco_protocol.verify_cli import main as verify_main
from tests.aggregator.ledger_kit import PV_TERMS
from tests.protocol.records_kit import fixed_key
from tests.support.go_kit import build_go_verify

ORIGIN = "eco-ledger.witness.test"
LOG = NoteSigner(ORIGIN, fixed_key("witness-test/log"))
WITNESS = CosignatureSigner("witness.example-town.lg.jp", fixed_key("witness-test/witness"))
T = 1_795_000_000


def _entry(tag: str, i: int) -> bytes:
    return canonical_bytes({"type": "test.synthetic/v1", "tag": tag, "n": i})


# --- the decision ------------------------------------------------------------------------------


def _tree_of(tag: str, n: int) -> MemoryTree:
    return MemoryTree(leaf_hash(_entry(tag, i)) for i in range(n))


def _cp_of(tree: MemoryTree, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, tree.root(size))


def _tiles_of(tree: MemoryTree, size: int) -> Callable[[], SubtreeSource]:
    return lambda: VerifiedTileSource(size, tree.root(size),
                                      lambda t: tile_data(t, tree.subtree))


def _no_tiles() -> SubtreeSource:
    raise AssertionError("tiles must not be read")


def test_first_checkpoint_is_trusted_on_first_use() -> None:
    assert verify_step(None, _cp_of(_tree_of("a", 10), 10), _no_tiles) == ()


def test_same_checkpoint_again() -> None:
    t = _tree_of("a", 10)
    assert verify_step(_cp_of(t, 10), _cp_of(t, 10), _no_tiles) == ()


def test_grown_log_gives_a_verifying_proof() -> None:
    t = _tree_of("a", 700)
    proof = verify_step(_cp_of(t, 300), _cp_of(t, 700), _tiles_of(t, 700))
    assert list(proof) == t.consistency_proof(300, 700)
    verify_consistency(300, 700, t.root(300), t.root(700), proof)


def test_two_roots_for_one_size_is_a_fork() -> None:
    with pytest.raises(Inconsistent, match="two checkpoints of size 10 with different root"):
        verify_step(_cp_of(_tree_of("a", 10), 10), _cp_of(_tree_of("b", 10), 10), _no_tiles)


@pytest.mark.parametrize("old", [1, 256, 300])
def test_a_tree_that_does_not_extend_the_trusted_one_is_a_fork(old: int) -> None:
    a, b = _tree_of("a", 700), _tree_of("b", 700)
    with pytest.raises(Inconsistent, match=f"size 700 does not extend the checkpoint of size "
                                           f"{old}") as e:
        verify_step(_cp_of(a, old), _cp_of(b, 700), _tiles_of(b, 700))
    assert e.value.old_root_in_new_tree == b.root(old) != a.root(old)
    assert list(e.value.proof) == b.consistency_proof(old, 700)


def test_an_older_checkpoint_is_refused_but_is_no_fork() -> None:
    t = _tree_of("a", 10)
    with pytest.raises(Rejected, match="size 5, older than the size 10"):
        verify_step(_cp_of(t, 10), _cp_of(t, 5), _no_tiles)


def test_bad_tiles_are_a_proof_error_not_a_fork() -> None:
    t = _tree_of("a", 700)

    def forged() -> SubtreeSource:
        return VerifiedTileSource(700, t.root(700), lambda tile: tile_data(
            tile, t.subtree)[::-1] if tile == Tile(0, 1) else tile_data(tile, t.subtree))

    with pytest.raises(ProofError, match="tile/0/001 does not hash to its entry"):
        verify_step(_cp_of(t, 300), _cp_of(t, 700), forged)


# --- state ------------------------------------------------------------------------------------


def test_state_round_trip(tmp_path: Path) -> None:
    mis = Misbehaviour("r", "note a", "note b", T, ("AAAA",), "BBBB")
    state = WitnessState("log+1+x", "w+2+y", "note a", "note a+", T, mis)
    assert WitnessState.from_json(state.to_json(), "x") == state
    assert WitnessState.from_json(WitnessState("l", "w").to_json(), "x") == WitnessState("l", "w")


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b'{"type": "other"}',
                                  b'{"type": "eco.witness-state/v1"}', b"\xff"])
def test_damaged_state_is_an_environment_problem(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "s.json").write_bytes(data)
    with pytest.raises(EnvironmentProblem, match="witness state .* is damaged"):
        load_state(tmp_path / "s.json")


# --- rounds against a real log ----------------------------------------------------------------


class _LiveLog:
    """A ledger in its own SQLite file behind the read API."""

    def __init__(self, path: Path, tag: str) -> None:
        self.path = path
        self.tag = tag
        self.store = SqliteStore(path)
        self.ledger = Ledger(self.store, LOG)
        self.api = ApiServer("127.0.0.1", 0,
                             lambda: SqliteStore(path, check_integrity=False),
                             ApiConfig(LOG.verifier, (WITNESS.verifier,))).start()

    def grow(self, n: int) -> None:
        size = self.ledger.size()
        with self.store.transaction():
            self.ledger.append([_entry(self.tag, size + i) for i in range(n)])
        self.ledger.checkpoint_now()

    def close(self) -> None:
        self.api.stop()
        self.store.close()


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Callable[[str], _LiveLog]]:
    opened: list[_LiveLog] = []

    def make(tag: str) -> _LiveLog:
        live = _LiveLog(tmp_path / f"{tag}.sqlite3", tag)
        opened.append(live)
        return live

    yield make
    for live in opened:
        live.close()


def _config(tmp_path: Path, submit: bool = True) -> WitnessConfig:
    return WitnessConfig(LOG.verifier, WITNESS, tmp_path / "witness-state.json", submit)


def _clock() -> int:
    return T


def test_first_round_cosigns_and_the_log_serves_it(tmp_path: Path,
                                                   logs: Callable[[str], _LiveLog]) -> None:
    live = logs("a")
    live.grow(5)
    out = witness_once(_config(tmp_path), LogClient(live.api.url), _clock)
    assert (out.size, out.verdict, out.submitted, out.accepted) == (5, "first", True,
                                                                    (WITNESS.name,))
    served = LogClient(live.api.url).checkpoint().decode()
    assert served == out.cosigned
    cp, note = open_checkpoint(served, LOG.verifier, [WITNESS.verifier])
    assert cp.size == 5 and note.signed_by(WITNESS.name)
    assert cosignature_time(next(s for s in note.sigs if s.name == WITNESS.name)) == T
    state = load_state(tmp_path / "witness-state.json")
    assert state is not None and state.cosigned == served and state.cosigned_at == T
    assert state.trusted() == cp and state.misbehaviour is None


def test_growth_is_proved_from_tiles(tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    live = logs("a")
    live.grow(300)
    cfg = _config(tmp_path)
    witness_once(cfg, LogClient(live.api.url), _clock)
    live.grow(400)
    out = witness_once(cfg, LogClient(live.api.url), lambda: T + 60)
    assert (out.size, out.verdict, out.submitted) == (700, "grew", True)
    cp, note = open_checkpoint(LogClient(live.api.url).checkpoint(), LOG.verifier,
                               [WITNESS.verifier])
    assert cp.size == 700 and note.signed_by(WITNESS.name)
    # nothing new: the log already serves our line for this checkpoint
    again = witness_once(cfg, LogClient(live.api.url), lambda: T + 120)
    assert (again.verdict, again.submitted) == ("unchanged", False)


NEW_LOG = NoteSigner(ORIGIN, fixed_key("witness-test/log-2"))


def test_the_witness_follows_a_log_key_change_announced_in_the_log(
        tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    """Issue 6: after 'log-key rotate' the checkpoint is signed by a key the witness never saw;
    it follows the change (signed by the key it trusts, endorsed by the new, included in the
    served tree) and goes on cosigning, remembering both keys."""
    live = logs("a")
    live.grow(300)
    cfg = _config(tmp_path)
    witness_once(cfg, LogClient(live.api.url), _clock)
    with live.store.transaction():
        live.ledger.change_key(NEW_LOG, "yearly rotation", datetime(2026, 12, 1, tzinfo=UTC))
    live.grow(40)  # signed by the new key alone
    out = witness_once(cfg, LogClient(live.api.url), lambda: T + 60)
    assert (out.size, out.verdict, out.submitted) == (341, "grew", True)
    cp, note = open_checkpoint(LogClient(live.api.url).checkpoint(), NEW_LOG.verifier,
                               [WITNESS.verifier])
    assert cp.size == 341 and note.signed_by(WITNESS.name)
    state = load_state(tmp_path / "witness-state.json")
    assert state is not None and state.log_vkey == NEW_LOG.verifier.vkey
    assert state.previous_log_vkeys == (LOG.verifier.vkey,)
    # the next round (and a restart with the original --log-key) carries on under the new key
    live.grow(5)
    assert witness_once(cfg, LogClient(live.api.url), lambda: T + 120).verdict == "grew"


def test_a_checkpoint_by_an_unannounced_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "impostor.sqlite3"
    store = SqliteStore(path)
    impostor = Ledger(store, NoteSigner(ORIGIN, fixed_key("witness-test/impostor")))
    with store.transaction():
        impostor.append([_entry("x", i) for i in range(3)])
    impostor.checkpoint_now()
    api = ApiServer("127.0.0.1", 0, lambda: SqliteStore(path, check_integrity=False),
                    ApiConfig(impostor.signer.verifier, (WITNESS.verifier,))).start()
    try:
        with pytest.raises(Rejected, match="does not verify under"):
            witness_once(_config(tmp_path), LogClient(api.url), _clock)
    finally:
        api.stop()
        store.close()
    assert load_state(tmp_path / "witness-state.json") is None  # nothing trusted, nothing kept


def test_a_forked_log_is_caught_and_both_checkpoints_are_kept(
        tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    """Two ledgers with the same log key and different entries: the witness cosigns one, is
    then shown the other, proves they cannot both hold, keeps both and stops for good."""
    a, b = logs("a"), logs("b")
    a.grow(300)
    b.grow(500)
    cfg = _config(tmp_path)
    witness_once(cfg, LogClient(a.api.url), _clock)
    with pytest.raises(LogMisbehaviour, match="size 500 does not extend the checkpoint of size "
                                              "300"):
        witness_once(cfg, LogClient(b.api.url), _clock)
    state = load_state(cfg.state_path)
    assert state is not None and state.misbehaviour is not None
    mis = state.misbehaviour
    trusted, _ = open_checkpoint(mis.trusted_checkpoint, LOG.verifier)
    conflicting, _ = open_checkpoint(mis.conflicting_checkpoint, LOG.verifier)
    assert (trusted.size, conflicting.size) == (300, 500)  # both really signed by the log
    assert trusted.root_hash == a.ledger.root(300)
    assert b64decode(mis.old_root_in_new_tree_b64 or "", "x") == b.ledger.root(300)
    assert mis.seen_at == T and len(mis.proof_b64) > 0
    assert state.checkpoint is not None and state.trusted() == trusted  # not moved on
    # b holds no cosignature, and the witness refuses even the honest-looking log from now on
    assert b.store.cosignatures(500) == []
    with pytest.raises(LogMisbehaviour, match="recorded a fork"):
        witness_once(cfg, LogClient(a.api.url), _clock)


def test_two_roots_for_the_same_size(tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    a, b = logs("a"), logs("b")
    a.grow(10)
    b.grow(10)
    cfg = _config(tmp_path)
    witness_once(cfg, LogClient(a.api.url), _clock)
    with pytest.raises(LogMisbehaviour, match="two checkpoints of size 10"):
        witness_once(cfg, LogClient(b.api.url), _clock)


def test_a_rolled_back_log_is_refused_without_crying_fork(
        tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    big, small = logs("big"), logs("small")
    small.tag = "big"  # the same entries: small is a prefix of big
    small.grow(5)
    big.grow(9)
    cfg = _config(tmp_path)
    witness_once(cfg, LogClient(big.api.url), _clock)
    before = cfg.state_path.read_bytes()
    with pytest.raises(Rejected, match="size 5, older than the size 9"):
        witness_once(cfg, LogClient(small.api.url), _clock)
    assert cfg.state_path.read_bytes() == before


class _StaticMirror:
    """A directory served by http.server's SimpleHTTPRequestHandler (a plain web server)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietStatic, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietStatic(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _publish(live: _LiveLog, out: Path) -> None:
    row = live.ledger.latest_checkpoint()
    assert row is not None
    write_static(out, row.note, live.store.node,
                 lambda lo, hi: (d for _, d in live.store.entries(lo, hi)), durable=False)


def test_witnessing_a_static_mirror_and_refusing_its_forged_tiles(
        tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    live = logs("a")
    live.grow(300)
    mirror_dir = tmp_path / "mirror"
    _publish(live, mirror_dir)
    mirror = _StaticMirror(mirror_dir)
    try:
        cfg = _config(tmp_path, submit=False)  # a static mirror takes no POST
        assert witness_once(cfg, LogClient(mirror.url), _clock).verdict == "first"
        live.grow(400)
        _publish(live, mirror_dir)
        tile = mirror_dir / "tile/0/001"  # a full tile the proof 300 → 700 needs
        good = tile.read_bytes()
        tile.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
        before = cfg.state_path.read_bytes()
        with pytest.raises(ProofError, match="tile/0/001 does not hash to its entry"):
            witness_once(cfg, LogClient(mirror.url), _clock)
        assert cfg.state_path.read_bytes() == before  # no cosignature, no fork recorded
        tile.write_bytes(good)
        out = witness_once(cfg, LogClient(mirror.url), _clock)
        assert (out.size, out.verdict, out.submitted) == (700, "grew", False)
    finally:
        mirror.close()


class _BusyLog(LogClient):
    """A real client of a log that signs a new checkpoint just before each of the first
    ``times`` submissions arrive (the race the 409 answer exists for)."""

    def __init__(self, live: _LiveLog, times: int) -> None:
        super().__init__(live.api.url)
        self.live = live
        self.times = times

    def submit(self, cosigned: str) -> tuple[int, dict[str, Any]]:
        if self.times:
            self.times -= 1
            self.live.grow(1)
        return super().submit(cosigned)


def test_the_log_moving_on_during_submission_is_retried(
        tmp_path: Path, logs: Callable[[str], _LiveLog]) -> None:
    live = logs("a")
    live.grow(3)
    out = witness_once(_config(tmp_path), _BusyLog(live, 2), _clock)
    assert (out.size, out.submitted) == (5, True)
    assert len(live.store.cosignatures(5)) == 1


def test_an_unreachable_log(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="GET http://127.0.0.1:9/checkpoint"):
        witness_once(_config(tmp_path), LogClient("http://127.0.0.1:9", 2.0), _clock)


# --- the CLI, end to end -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def go_verify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_verify(tmp_path_factory.mktemp("go-verify"))


def _cli(capsys: pytest.CaptureFixture[str], *args: str, rc: int = 0) -> str:
    got = aggregator_main(list(args))
    out, err = capsys.readouterr()
    assert got == rc, err
    return out if rc == 0 else err


def test_witness_key_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "w.key"
    vkey = _cli(capsys, "witness-key", str(key), "--name", "w.example").strip()
    v = parse_witness_key(vkey)
    assert v.name == "w.example" and b64decode(vkey.split("+", 2)[2], "k")[0] == 0x04
    assert (tmp_path / "w.key.vkey").read_text() == vkey + "\n"
    assert key.stat().st_mode & 0o777 == 0o600
    assert _cli(capsys, "witness-key", str(key), "--name", "w.example").strip() == vkey
    assert "the witness name cannot change" in _cli(capsys, "witness-key", str(key), "--name",
                                                   "other.example", rc=2)
    assert "invalid witness name" in _cli(capsys, "witness-key", str(tmp_path / "x.key"),
                                         "--name", "bad name", rc=2)


def test_witness_cli_against_the_http_command_then_export_and_eco_verify(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], go_verify: Path) -> None:
    """What ``make demo`` does: init, enrol, witness-key, the vkey in [witnesses], the read API
    as its own process, ``witness --once``, export, then eco-verify with --min-witnesses 1."""
    state = tmp_path / "agg"
    conf = str(state / "aggregator.toml")
    _cli(capsys, "--config", conf, "init", str(state), "--origin", ORIGIN)
    for n in range(2):
        _cli(capsys, "--config", conf, "enrol", "--public-key",
            b64encode(public_key_raw(fixed_key(f"dev{n}"))), "--household", f"h{n}",
            "--programme", "p", "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
    log_vkey = _cli(capsys, "--config", conf, "log-key").strip()
    wkey = tmp_path / "witness" / "w.key"
    wvkey = _cli(capsys, "witness-key", str(wkey), "--name", WITNESS.name).strip()
    text = Path(conf).read_text()
    assert "vkeys = []" in text
    Path(conf).write_text(text.replace("vkeys = []", f'vkeys = ["{wvkey}"]'))
    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", conf, "http",
                             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["url"]
        out = json.loads(_cli(capsys, "witness", "--log", url, "--log-key", log_vkey, "--key",
                             str(wkey), "--once"))
        assert (out["size"], out["verdict"], out["submitted"]) == (2, "first", True)
        assert out["accepted"] == [WITNESS.name] and out["witness_vkey"] == wvkey
        assert Path(out["state"]).parent == wkey.parent
        again = json.loads(_cli(capsys, "witness", "--log", url, "--log-key", log_vkey,
                               "--key", str(wkey), "--once"))
        assert again["verdict"] == "unchanged"
        assert "--log-key: malformed verifier key" in _cli(
            capsys, "witness", "--log", url, "--log-key", "nonsense", "--key", str(wkey),
            "--once", rc=2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    ev = tmp_path / "evidence"
    _cli(capsys, "--config", conf, "ledger", "export", str(ev))
    assert (ev / "witnesses.vkeys").read_text() == wvkey + "\n"
    assert f"— {WITNESS.name} " in (ev / "checkpoint").read_text()
    assert verify_main(["evidence", str(ev), "--log-key", log_vkey, "--witnesses-from-dir",
                        "--min-witnesses", "1"]) == 0
    assert f"witnesses: {WITNESS.name}" in capsys.readouterr().out
    assert verify_main(["evidence", str(ev), "--log-key", log_vkey, "--min-witnesses",
                        "1"]) == 1  # without the witness key it is not counted
    capsys.readouterr()
    res = subprocess.run([str(go_verify), "verify-cosignature", log_vkey, wvkey],
                         input=(ev / "checkpoint").read_bytes(), capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    res = subprocess.run([str(go_verify), "check-evidence", str(ev)], capture_output=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    tiles = tmp_path / "tiles"
    published = json.loads(_cli(capsys, "--config", conf, "ledger", "tiles", str(tiles)))
    assert published["size"] == 2
    assert (tiles / "checkpoint").read_text() == (ev / "checkpoint").read_text()


def test_witness_cli_exits_3_on_a_fork(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       logs: Callable[[str], _LiveLog]) -> None:
    a, b = logs("a"), logs("b")
    a.grow(4)
    b.grow(6)
    key = tmp_path / "w.key"
    save_private_key(key, WITNESS.private_key)
    (tmp_path / "w.key.vkey").write_text(WITNESS.verifier.vkey + "\n")
    args = ["witness", "--log-key", LOG.verifier.vkey, "--key", str(key), "--once"]
    _cli(capsys, *args, "--log", a.api.url)
    err = _cli(capsys, *args, "--log", b.api.url, rc=3)
    assert "LOG MISBEHAVIOUR" in err and "Both signed checkpoints are kept in" in err
    assert "recorded a fork" in _cli(capsys, *args, "--log", a.api.url, rc=3)
