"""``eco-aggregator mirror`` against member logs behind real read-API servers: the first copy,
growth proved from tiles, the mirror's own read API serving the same bytes as the member, a
member that rewrites its history (same key, other entries) caught with a persistent alarm and
refused on every later run while the other members are still mirrored, and a mirror's store
that only ever holds what a signed checkpoint commits to."""

from __future__ import annotations

import http.server
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli import main as aggregator_main
from aggregator.errors import EnvironmentProblem, Rejected
from aggregator.http_api import ApiConfig, ApiServer
from aggregator.ledger import key_change_indexes
from aggregator.mirror import MirrorClient, mirror_once
from aggregator.mirror_store import MemberMirror, trusted_checkpoint
from eco_protocol.canonical import canonical_bytes
from eco_protocol.consortium import parse_consortium
from eco_protocol.encoding import b64decode
from eco_protocol.merkle import leaf_hash, root_hash, verify_inclusion
from eco_protocol.note import NoteSigner, open_checkpoint
from tests.aggregator.consortium_kit import (
    LOG_A,
    LOG_B,
    LOG_C,
    ROOT,
    W_A,
    W_B,
    W_BODY,
    W_C,
    LiveLog,
    aggregator,
    get,
    live_logs,
    service,
    write_consortium,
)
from tests.protocol.records_kit import fixed_key


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Callable[..., LiveLog]]:
    with live_logs(tmp_path, (W_A.verifier, W_C.verifier, W_BODY.verifier)) as make:
        yield make


def _consortium(tmp_path: Path, b_url: str, c_url: str) -> Path:
    """Town A (this mirror's member; its log is never fetched), towns B and C."""
    return write_consortium(tmp_path / "consortium.toml", [
        ("town-a", LOG_A.verifier.vkey, "http://127.0.0.1:9", W_A.name),
        ("town-b", LOG_B.verifier.vkey, b_url, W_B.name),
        ("town-c", LOG_C.verifier.vkey, c_url, W_C.name),
    ], [W_A, W_B, W_C, W_BODY])


def _mirror_once_cli(conf: Path, state: Path, rc: int) -> dict[str, object]:
    res = aggregator("mirror", "--consortium", str(conf), "--state", str(state), "--member",
                     "town-a", "--once")
    assert res.returncode == rc, res.stderr
    out: dict[str, object] = json.loads(res.stdout)
    out["stderr"] = res.stderr
    return out


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_the_mirror_copies_and_follows_each_other_member(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    b.grow(5)
    c.grow(300)  # more than one entry bundle
    conf = _consortium(tmp_path, b.url, c.url)
    state = tmp_path / "mirror"
    out = _mirror_once_cli(conf, state, 0)
    assert out["members"] == {
        "town-b": {"size": 5, "verdict": "first", "added": 5, "published": False,
                   "cosigned": []},
        "town-c": {"size": 300, "verdict": "first", "added": 300, "published": False,
                   "cosigned": []}}
    assert not (state / "town-a").exists()  # its own log is not mirrored
    b.grow(600)  # past two entry bundles, from a partial one
    out = _mirror_once_cli(conf, state, 0)
    members = out["members"]
    assert isinstance(members, dict)
    assert members["town-b"]["verdict"] == "grew" and members["town-b"]["added"] == 600
    assert members["town-c"]["verdict"] == "same"
    store = MemberMirror(state, "town-b").open()
    try:
        trusted = trusted_checkpoint(store)
        assert trusted is not None and trusted[1].size == 605
        assert [store.entry(i) for i in (0, 4, 604)] == \
            [b.store.entry(i) for i in (0, 4, 604)]
        assert root_hash(605, store.node) == b.ledger.root(605)
    finally:
        store.close()


def test_a_mirror_keeps_the_cosignatures_that_count_and_says_when_published(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    b.grow(3)
    c.grow(1)
    row = b.store.latest_checkpoint()
    assert row is not None
    text = row.note[: row.note.find("\n\n") + 1]
    for w in (W_A, W_B):  # W_B is town B's own witness: it does not count for town B
        b.store.add_cosignature(3, w.name, w.cosign(text, 1_795_000_000).line)
    conf = _consortium(tmp_path, b.url, c.url)
    cons = parse_consortium(conf.read_text())
    member = cons.member("town-b")
    out = mirror_once(cons, member, MemberMirror(tmp_path / "m", "town-b"),
                      MirrorClient(b.url))
    assert (out.published, out.cosigned) == (False, (W_A.name,))
    b.store.add_cosignature(3, W_BODY.name, W_BODY.cosign(text, 1_795_000_001).line)
    out = mirror_once(cons, member, MemberMirror(tmp_path / "m", "town-b"),
                      MirrorClient(b.url))
    assert (out.verdict, out.published, out.cosigned) == ("same", True,
                                                          (W_BODY.name, W_A.name))


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_the_mirror_serves_the_members_read_api_and_follows_growth(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    b.grow(10)
    c.grow(2)
    conf = _consortium(tmp_path, b.url, c.url)
    state = tmp_path / "mirror"
    with service("mirror", "--consortium", str(conf), "--state", str(state), "--member",
                 "town-a", "--interval", "0.2", "--http", "town-b=127.0.0.1:0",
                 "--http", "town-c=127.0.0.1:0") as (proc, first):
        urls = first["urls"]
        assert isinstance(urls, dict) and set(urls) == {"town-b", "town-c"}
        mirror_b = str(urls["town-b"])
        _wait_for_size(mirror_b, 10, proc)
        b.grow(290)
        _wait_for_size(mirror_b, 300, proc)
        for path in ("checkpoint", "tile/0/000", "tile/0/001.p/44", "tile/entries/001.p/44",
                     "tile/1/000.p/1", "proof/inclusion?index=7", "proof/consistency?old=10",
                     "log-keys"):
            assert get(f"{mirror_b}/{path}") == get(f"{b.url}/{path}"), path
        cp, _ = open_checkpoint(get(f"{str(urls['town-c'])}/checkpoint"), LOG_C.verifier)
        assert cp.size == 2
    assert proc.returncode == 0, proc.stderr


def _wait_for_size(url: str, size: int, proc: object) -> None:
    """Poll the mirror's checkpoint until it reaches ``size`` (the service rounds every 0.2 s;
    the deadline only keeps a broken mirror from hanging the suite)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            note = get(f"{url}/checkpoint")
        except OSError:  # 404 before the first round stored a checkpoint
            note = b""
        if note and open_checkpoint(note, LOG_B.verifier)[0].size == size:
            return
        time.sleep(0.1)
    raise AssertionError(f"the mirror at {url} never reached size {size} ({proc})")


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_a_member_that_rewrites_its_history_is_caught_and_refused_for_good(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    honest = logs("b", LOG_B, "honest")
    c = logs("c", LOG_C)
    honest.grow(4)
    c.grow(1)
    state = tmp_path / "mirror"
    _mirror_once_cli(_consortium(tmp_path, honest.url, c.url), state, 0)
    # the same key signs another history: 6 entries whose first 4 are not the ones mirrored
    forked = logs("b-forked", LOG_B, "rewritten")
    forked.grow(6)
    c.grow(2)
    out = _mirror_once_cli(_consortium(tmp_path, forked.url, c.url), state, 3)
    assert "LOG MISBEHAVIOUR" in str(out["stderr"]) and "FORK.json" in str(out["stderr"])
    assert out["forks"] == ["town-b"]
    members = out["members"]
    assert isinstance(members, dict) and members["town-c"]["size"] == 3  # the others go on
    alarm = json.loads((state / "town-b" / "FORK.json").read_text())
    assert alarm["type"] == "eco.mirror-fork/v1" and alarm["member"] == "town-b"
    assert "does not extend the checkpoint of size 4" in alarm["reason"]
    assert open_checkpoint(alarm["trusted_checkpoint"], LOG_B.verifier)[0].size == 4
    assert open_checkpoint(alarm["conflicting_checkpoint"], LOG_B.verifier)[0].size == 6
    assert alarm["proof_b64"]
    before = (state / "town-b" / "FORK.json").read_bytes()
    # every later run refuses the member, even against its honest history, and keeps the view
    for url in (honest.url, forked.url):
        out = _mirror_once_cli(_consortium(tmp_path, url, c.url), state, 3)
        assert "recorded a fork by eco-ledger.town-b.test" in str(out["stderr"])
    assert (state / "town-b" / "FORK.json").read_bytes() == before
    store = MemberMirror(state, "town-b").open()
    try:
        trusted = trusted_checkpoint(store)
        assert trusted is not None and trusted[1].size == 4 and store.size() == 4
        assert store.entry(0) == honest.store.entry(0)
    finally:
        store.close()


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_two_roots_for_one_size_is_a_fork_too(tmp_path: Path,
                                              logs: Callable[..., LiveLog]) -> None:
    a, b, c = logs("b", LOG_B, "one"), logs("b2", LOG_B, "two"), logs("c", LOG_C)
    a.grow(3)
    b.grow(3)
    c.grow(1)
    state = tmp_path / "mirror"
    _mirror_once_cli(_consortium(tmp_path, a.url, c.url), state, 0)
    out = _mirror_once_cli(_consortium(tmp_path, b.url, c.url), state, 3)
    assert "two checkpoints of size 3 with different root hashes" in str(out["stderr"])


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_a_member_serving_entries_that_are_not_its_logs_leaves_nothing_stored(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    """Entry bundles that do not hash to the signed root are refused before the commit: the
    mirror's store keeps its last verified tree (and this is no fork: exit 1, not 3)."""
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    b.grow(2)
    c.grow(1)
    state = tmp_path / "mirror"
    conf = _consortium(tmp_path, b.url, c.url)
    _mirror_once_cli(conf, state, 0)
    b.grow(3)
    with sqlite3.connect(b.path) as db:  # the log's server now serves an altered entry 3
        db.execute("UPDATE entry SET data=? WHERE idx=3",
                   (b'{"tag":"evil","type":"test.synthetic/v1"}',))
    out = _mirror_once_cli(conf, state, 1)
    assert "do not hash to the root of the signed checkpoint of size 5" in str(out["stderr"])
    store = MemberMirror(state, "town-b").open()
    try:
        trusted = trusted_checkpoint(store)
        assert trusted is not None and trusted[1].size == 2 and store.size() == 2
    finally:
        store.close()
    assert not (state / "town-b" / "FORK.json").exists()


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_a_configuration_error_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "consortium.toml"
    write_consortium(bad, [("town-b", LOG_B.verifier.vkey, "ftp://b", W_B.name)],
                     [W_B, W_BODY], quorum=1)
    res = aggregator("mirror", "--consortium", str(bad), "--state", str(tmp_path / "m"),
                     "--once")
    assert res.returncode == 2
    assert f"configuration: {bad}: members[0].url must be an http:// or https:// URL" in \
        res.stderr
    res = aggregator("mirror", "--consortium", str(tmp_path / "missing.toml"), "--state",
                     str(tmp_path / "m"), "--once")
    assert res.returncode == 2 and "cannot read it" in res.stderr


class _StallingProxy:
    """The member's read API through a proxy that stalls on one path until released, so the
    mirror can be killed (SIGKILL: a power cut, as far as the process knows) mid-fetch."""

    def __init__(self, upstream: str, stall_on: str) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.lstrip("/").startswith(stall_on):
                    proxy.reached.set()
                    proxy.release.wait(60)
                try:
                    body, status = get(upstream + self.path), 200
                except urllib.error.HTTPError as e:
                    body, status = e.read(), e.code
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.integration  # runs eco-aggregator as its own process
def test_a_mirror_killed_mid_fetch_keeps_its_last_verified_view_and_resumes(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    b.grow(300)
    c.grow(1)
    state = tmp_path / "mirror"
    _mirror_once_cli(_consortium(tmp_path, b.url, c.url), state, 0)
    b.grow(500)  # the next round needs entry bundles 1, 2 and 3
    proxy = _StallingProxy(b.url, "tile/entries/002")
    try:
        conf = _consortium(tmp_path, proxy.url, c.url)
        proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "mirror",
                                 "--consortium", str(conf), "--state", str(state),
                                 "--member", "town-a", "--once"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        assert proxy.reached.wait(120), "the mirror never asked for entry bundle 2"
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        proxy.close()
    store = MemberMirror(state, "town-b").open()
    try:
        trusted = trusted_checkpoint(store)  # the view before the cut, whole
        assert trusted is not None and trusted[1].size == 300 and store.size() == 300
    finally:
        store.close()
    out = _mirror_once_cli(_consortium(tmp_path, b.url, c.url), state, 0)
    members = out["members"]
    assert isinstance(members, dict)
    assert (members["town-b"]["verdict"], members["town-b"]["size"]) == ("grew", 800)
    store = MemberMirror(state, "town-b").open()
    try:
        assert root_hash(800, store.node) == b.ledger.root(800)
    finally:
        store.close()


def test_the_mirror_follows_a_log_key_change_announced_in_the_log(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    """After 'log-key rotate' the member signs with a key the consortium file does not name yet:
    the mirror follows the change the log announced in itself (as the witness does), serves it
    on /log-keys, and says the checkpoint is not published under the file's (old) key."""
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    b.grow(300)
    c.grow(1)
    cons = parse_consortium(_consortium(tmp_path, b.url, c.url).read_text())
    mirror = MemberMirror(tmp_path / "m", "town-b")
    mirror_once(cons, cons.member("town-b"), mirror, MirrorClient(b.url))
    new_key = NoteSigner(LOG_B.name, fixed_key("consortium-test/log-b-rotated"))
    with b.store.transaction():
        b.ledger.change_key(new_key, "yearly rotation", datetime(2026, 12, 1, tzinfo=UTC))
    b.grow(40)  # signed by the new key alone
    out = mirror_once(cons, cons.member("town-b"), mirror, MirrorClient(b.url))
    assert (out.size, out.verdict, out.added, out.published) == (341, "grew", 41, False)
    store = mirror.open()
    try:
        assert store.get_meta("log_vkey") == new_key.verifier.vkey
        assert key_change_indexes(store) == [300]
    finally:
        store.close()
    b.grow(5)
    assert mirror_once(cons, cons.member("town-b"), mirror, MirrorClient(b.url)).verdict == \
        "grew"


def test_a_damaged_fork_alarm_is_an_environment_problem_never_ignored(tmp_path: Path) -> None:
    mirror = MemberMirror(tmp_path, "town-b")
    mirror.dir.mkdir()
    mirror.alarm_path.write_text("{not json")
    with pytest.raises(EnvironmentProblem, match="FORK.json is damaged: .*never delete it"):
        mirror.alarm()
    with pytest.raises(EnvironmentProblem, match="cannot name a directory"):
        MemberMirror(tmp_path, "../elsewhere")


def test_http_serving_needs_a_mirrored_member_and_the_service(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = _consortium(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9")
    base = ["mirror", "--consortium", str(conf), "--state", str(tmp_path / "m"), "--member",
            "town-a"]
    assert aggregator_main([*base, "--http", "town-a=127.0.0.1:0"]) == 2
    assert "NAME one of the mirrored members (town-b, town-c)" in capsys.readouterr().err
    assert aggregator_main([*base, "--http", "town-b=nowhere"]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
    assert aggregator_main([*base, "--once", "--http", "town-b=127.0.0.1:0"]) == 2
    assert "drop --once" in capsys.readouterr().err
    assert aggregator_main([*base[:-1], "town-z", "--once"]) == 2
    assert "--member: no member named 'town-z'" in capsys.readouterr().err


def test_the_mirror_indexes_readings_so_its_read_api_proves_them_by_device_and_seq(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    """A mirror answers ``/proof/inclusion?device_id=D&seq=Q`` as the member does: the first
    entry for (D, Q) (a repeat, which a member's intake never logs, does not stop the mirror)."""
    b, c = logs("b", LOG_B), logs("c", LOG_C)
    device = "ab" * 16
    readings = [canonical_bytes({"type": "eco.reading/v1", "device_id": device, "seq": s,
                                 "n": n}) for n, s in enumerate((0, 0, 1))]
    with b.store.transaction():
        b.ledger.append(readings)
    b.ledger.checkpoint_now()
    c.grow(1)
    cons = parse_consortium(_consortium(tmp_path, b.url, c.url).read_text())
    mirror = MemberMirror(tmp_path / "m", "town-b")
    assert mirror_once(cons, cons.member("town-b"), mirror, MirrorClient(b.url)).size == 3
    with ApiServer("127.0.0.1", 0, lambda: mirror.open(check_integrity=False),
                   ApiConfig(LOG_B.verifier)) as api:
        for seq, index in ((0, 0), (1, 2)):
            got = json.loads(get(f"{api.url}/proof/inclusion?device_id={device}&seq={seq}"))
            assert (got["index"], got["size"]) == (index, 3)
            verify_inclusion(index, 3, leaf_hash(readings[index]),
                             [b64decode(h, "proof") for h in got["proof_b64"]],
                             b.ledger.root(3))


def test_a_checkpoint_by_another_key_is_refused_and_is_no_fork(
        tmp_path: Path, logs: Callable[..., LiveLog]) -> None:
    impostor = NoteSigner(LOG_B.name, fixed_key("consortium-test/impostor"))
    b, c = logs("b", impostor), logs("c", LOG_C)
    b.grow(2)
    c.grow(1)
    cons = parse_consortium(_consortium(tmp_path, b.url, c.url).read_text())
    mirror = MemberMirror(tmp_path / "m", "town-b")
    with pytest.raises(Rejected, match="town-b: the checkpoint served by .* does not verify "
                                       "under the log key eco-ledger.town-b.test"):
        mirror_once(cons, cons.member("town-b"), mirror, MirrorClient(b.url))
    assert not mirror.alarm_path.exists()
    store = mirror.open()
    try:
        assert trusted_checkpoint(store) is None and store.size() == 0
    finally:
        store.close()
