"""The public read API over a real HTTP server on a free loopback port, on both store backends:
tlog-tiles resources (checked against the tree and against Go's tlog.TileHashReader), JSON
proofs, errors naming the bad parameter, and the cosignature endpoint."""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main as aggregator_main
from aggregator.errors import Rejected
from aggregator.http_api import ApiConfig, ApiServer, parse_listen
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.mosquitto import Mosquitto
from aggregator.tiles import Tile, parse_entry_bundle, tile_data, tiles_for_size
from eco_protocol.canonical import canonical_bytes
from eco_protocol.keys import public_key_raw
from eco_protocol.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from eco_protocol.note import (
    CosignatureSigner,
    NoteSigner,
    open_checkpoint,
    sign_note,
)
from tests.aggregator.ledger_kit import PV_TERMS, Device, StoreBackend, enrol_device, store_url
from tests.protocol.records_kit import fixed_key
from tests.support.go_kit import build_go_verify

WITNESS = CosignatureSigner("witness.example-town.lg.jp", fixed_key("witness/http"))
STRANGER = CosignatureSigner("stranger.example", fixed_key("witness/stranger"))
SYNTHETIC = 600  # > 2 full level-0 tiles: full and partial tiles on two levels
NOW = 1_795_000_000


@dataclass
class _Log:
    ledger: Ledger
    api: ApiServer
    device: Device
    entries: list[bytes]

    @property
    def url(self) -> str:
        return self.api.url

    def tree(self) -> MemoryTree:
        return MemoryTree(leaf_hash(e) for e in self.entries)


def _synthetic(i: int) -> bytes:
    return canonical_bytes({"type": "test.synthetic/v1", "n": i})


def _add_readings(ledger: Ledger, device: Device, n: int) -> None:
    outcomes = Intake(ledger).process(
        [(device.topic, canonical_bytes([device.reading() for _ in range(n)]))],
        "2026-11-22T12:00:00Z")
    assert outcomes[0].accepted == n


def _grow(ledger: Ledger, entries: list[bytes], n: int) -> None:
    new = [_synthetic(len(entries) + i) for i in range(n)]
    with ledger.store.transaction():
        ledger.append(new)
    entries.extend(new)


def _all_entries(ledger: Ledger) -> list[bytes]:
    return [d for _, d in ledger.store.entries(0, ledger.size())]


def _start_api(backend: StoreBackend, ledger: Ledger, witnesses: tuple[Any, ...]) -> ApiServer:
    url = store_url(ledger.store)
    cfg = ApiConfig(ledger.signer.verifier, witnesses)
    return ApiServer("127.0.0.1", 0, lambda: backend.open(url), cfg).start()


def _build_log(backend: StoreBackend, ledger: Ledger, synthetic_entries: int) -> _Log:
    """1 enrolment, 3 readings, then ``synthetic_entries`` more; checkpoints at 4 and at the
    end; the API in front of it, accepting cosignatures by WITNESS."""
    device = Device()
    enrol_device(ledger, device)
    _add_readings(ledger, device, 3)
    ledger.checkpoint_now()
    entries = _all_entries(ledger)
    _grow(ledger, entries, synthetic_entries)
    ledger.checkpoint_now()
    return _Log(ledger, _start_api(backend, ledger, (WITNESS.verifier,)), device, entries)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def read_log(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Log]:
    """The 604-entry log, built once per backend for the tests that only read."""
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    backend = StoreBackend(request.param, tmp_path_factory.mktemp("read-log"), server)
    store = backend.open()
    log = _build_log(backend, Ledger(store, NoteSigner("eco-ledger.read.test",
                                                      fixed_key("read-log"))), SYNTHETIC)
    try:
        yield log
    finally:
        log.api.stop()
        store.close()
        backend.cleanup()


@pytest.fixture
def slog(store_backend: StoreBackend, ledger: Ledger) -> Iterator[_Log]:
    """A small log of the test's own, for tests that write: an enrolment and 3 readings."""
    built = _build_log(store_backend, ledger, 0)
    try:
        yield built
    finally:
        built.api.stop()


@pytest.fixture(scope="module")
def go_verify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_verify(tmp_path_factory.mktemp("go-verify"))


@dataclass
class _Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json", self.headers
        return json.loads(self.body)


def _http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         method: str | None = None) -> _Reply:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return _Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return _Reply(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _unb64(s: str) -> bytes:
    return base64.b64decode(s)


# --- checkpoint and tiles -------------------------------------------------------------------------


def test_checkpoint(read_log: _Log) -> None:
    r = _http(f"{read_log.url}/checkpoint")
    assert r.status == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    cp, note = open_checkpoint(r.body, read_log.ledger.signer.verifier)
    assert cp.size == len(read_log.entries) == 604
    assert cp.root_hash == read_log.tree().root()
    assert [s.name for s in note.sigs] == [read_log.ledger.origin] and not note.unverified


def test_every_tile_and_bundle_of_the_tree(read_log: _Log) -> None:
    tree, size = read_log.tree(), len(read_log.entries)
    tiles = list(tiles_for_size(size))
    assert [t.path for t in tiles] == ["tile/0/000", "tile/0/001", "tile/0/002.p/92",
                                       "tile/1/000.p/2"]
    for t in tiles:
        r = _http(f"{read_log.url}/{t.path}")
        assert r.status == 200, r.body
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.body == tile_data(t, tree.subtree)
    # the partial tile of the earlier checkpoint (size 4) stays available
    assert _http(f"{read_log.url}/tile/0/000.p/4").body == tile_data(Tile(0, 0, 4), tree.subtree)
    plain = _http(f"{read_log.url}/tile/entries/002.p/92")
    assert "content-encoding" not in plain.headers
    assert parse_entry_bundle(plain.body, 92) == read_log.entries[512:604]
    zipped = _http(f"{read_log.url}/tile/entries/000", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert parse_entry_bundle(gzip.decompress(zipped.body), 256) == read_log.entries[:256]


@pytest.mark.parametrize(("path", "status", "message"), [
    ("tile/0/003", 404, "tile/0/003 is not in the tree of the latest checkpoint (size 604)"),
    ("tile/0/002.p/93", 404, "not in the tree"),
    ("tile/0/002", 404, "not in the tree"),
    ("tile/1/000", 404, "not in the tree"),
    ("tile/entries/002.p/93", 404, "not in the tree"),
    ("tile/0/2", 400, "malformed tile path"),
    ("tile/0/x000/002", 400, "not canonical"),
    ("tile/0/002.p/256", 400, "partial width"),
    ("tile/64/000", 400, "level must be"),
])
def test_bad_tile_requests(read_log: _Log, path: str, status: int, message: str) -> None:
    r = _http(f"{read_log.url}/{path}")
    assert r.status == status
    body = r.json()
    assert body["parameter"] == "path" and message in body["error"]


@pytest.mark.interop
def test_go_tile_hash_reader_over_http(read_log: _Log, go_verify: Path) -> None:
    """Go's tlog.TileHashReader reads our served tiles (authenticating each against the signed
    checkpoint) and its ProveRecord/ProveTree agree with our JSON proof endpoints."""
    size = len(read_log.entries)
    pairs = [(0, size), (300, size), (603, size), (256, 257), (3, 4)]
    cons = [(1, size), (4, size), (256, 600), (511, 604), (600, 604)]
    req = {"inclusion": [{"index": i, "size": s} for i, s in pairs],
           "consistency": [{"old": o, "new": n} for o, n in cons], "entries": True}
    res = subprocess.run([str(go_verify), "tile-proofs", read_log.url,
                          read_log.ledger.signer.verifier.vkey], input=json.dumps(req).encode(),
                         capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    out = json.loads(res.stdout)
    assert out["entries_checked"] == size
    for (i, s), got in zip(pairs, out["inclusion"], strict=True):
        ours = _http(f"{read_log.url}/proof/inclusion?index={i}&size={s}").json()
        assert ours["proof_b64"] == got["proof"] and ours["root_b64"] == got["root"]
    for (o, n), got in zip(cons, out["consistency"], strict=True):
        assert _http(f"{read_log.url}/proof/consistency?old={o}&new={n}").json()["proof_b64"] == \
            got["proof"]


# --- proofs ------------------------------------------------------------------------------------


def test_inclusion_proof_by_index(read_log: _Log) -> None:
    size = len(read_log.entries)
    for index, at in [(0, None), (300, None), (603, None), (2, 4), (255, 256)]:
        q = f"index={index}" + ("" if at is None else f"&size={at}")
        r = _http(f"{read_log.url}/proof/inclusion?{q}")
        assert r.status == 200
        p = r.json()
        want_size = size if at is None else at
        assert (p["index"], p["size"]) == (index, want_size)
        entry = _unb64(p["entry_b64"])
        assert entry == read_log.entries[index]
        assert _unb64(p["leaf_hash_b64"]) == leaf_hash(entry)
        assert _unb64(p["root_b64"]) == read_log.tree().root(want_size)
        verify_inclusion(index, want_size, leaf_hash(entry), [_unb64(h) for h in p["proof_b64"]],
                         read_log.tree().root(want_size))


def test_inclusion_proof_by_reading(read_log: _Log) -> None:
    p = _http(f"{read_log.url}/proof/inclusion?device_id={read_log.device.device_id}&seq=2").json()
    assert (p["device_id"], p["seq"], p["index"], p["size"]) == \
        (read_log.device.device_id, 2, 2, 604)
    reading = json.loads(_unb64(p["entry_b64"]))
    assert (reading["type"], reading["seq"]) == ("eco.reading/v1", 2)
    verify_inclusion(2, 604, leaf_hash(_unb64(p["entry_b64"])),
                     [_unb64(h) for h in p["proof_b64"]], read_log.tree().root())


def test_consistency_proof(read_log: _Log) -> None:
    tree = read_log.tree()
    for old, new in [(4, None), (1, 604), (256, 600), (0, 10), (604, 604)]:
        q = f"old={old}" + ("" if new is None else f"&new={new}")
        p = _http(f"{read_log.url}/proof/consistency?{q}").json()
        n = 604 if new is None else new
        assert (p["old"], p["new"]) == (old, n)
        assert _unb64(p["old_root_b64"]) == tree.root(old)
        verify_consistency(old, n, tree.root(old), tree.root(n),
                           [_unb64(h) for h in p["proof_b64"]])


UNKNOWN_DEVICE = "0" * 32


@pytest.mark.parametrize(("query", "status", "parameter", "message"), [
    ("/proof/inclusion?index=abc", 400, "index", "non-negative decimal integer"),
    ("/proof/inclusion?index=-1", 400, "index", "non-negative decimal integer"),
    ("/proof/inclusion?index=01", 400, "index", "non-negative decimal integer"),
    ("/proof/inclusion?index=", 400, "index", "non-negative decimal integer"),
    ("/proof/inclusion?index=604", 400, "index", "index 604 is not in the tree of size 604"),
    ("/proof/inclusion?index=5&size=4", 400, "index", "not in the tree of size 4"),
    ("/proof/inclusion?index=1&size=605", 400, "size", "beyond the latest checkpoint"),
    ("/proof/inclusion?index=1&index=2", 400, "index", "given twice"),
    ("/proof/inclusion?index=1&leaf=2", 400, "leaf", "unknown parameter 'leaf'"),
    ("/proof/inclusion", 400, "index", "give index, or device_id and seq"),
    ("/proof/inclusion?device_id=ABC&seq=1", 400, "device_id", "32 lowercase hex"),
    (f"/proof/inclusion?device_id={UNKNOWN_DEVICE}&seq=1", 404, "seq", "no reading seq 1"),
    (f"/proof/inclusion?device_id={UNKNOWN_DEVICE}", 400, "seq", "'seq' is required"),
    (f"/proof/inclusion?index=1&device_id={UNKNOWN_DEVICE}", 400, "device_id", "either index"),
    ("/proof/consistency", 400, "old", "'old' is required"),
    ("/proof/consistency?old=5&new=3", 400, "old", "old=5 is larger than new=3"),
    ("/proof/consistency?old=1&new=9999", 400, "new", "new=9999 is beyond the latest"),
    ("/proof/consistency?old=1&new=1e3", 400, "new", "non-negative decimal integer"),
    ("/proof/consistency?old=1;new=3", 400, "old", "non-negative decimal integer"),
    ("/checkpoint?x=1", 400, "query", "takes no query parameters"),
    ("/entries", 404, "path", "no such resource"),
])
def test_bad_requests_name_the_parameter(read_log: _Log, query: str, status: int, parameter: str,
                                         message: str) -> None:
    r = _http(read_log.url + query)
    assert r.status == status
    body = r.json()
    assert body["parameter"] == parameter
    assert message in body["error"]


def test_reading_beyond_the_checkpoint(slog: _Log) -> None:
    _add_readings(slog.ledger, slog.device, 1)  # seq 4, leaf 4, not yet in a checkpoint
    r = _http(f"{slog.url}/proof/inclusion?device_id={slog.device.device_id}&seq=4")
    assert r.status == 404
    assert r.json() == {"error": f"reading seq 4 of device {slog.device.device_id} is leaf 4, "
                                 "not yet in the tree of size 4", "parameter": "size"}
    assert _http(f"{slog.url}/tile/0/000.p/5").status == 404  # tiles follow the checkpoint too
    slog.ledger.checkpoint_now()
    assert _http(f"{slog.url}/proof/inclusion?device_id={slog.device.device_id}&seq=4"
                ).json()["index"] == 4
    assert _http(f"{slog.url}/tile/0/000.p/5").status == 200


def test_a_log_without_checkpoint(store_backend: StoreBackend, ledger: Ledger) -> None:
    with _start_api(store_backend, ledger, ()) as api:
        for path in ("/checkpoint", "/tile/0/000.p/1", "/proof/inclusion?index=0",
                     "/proof/consistency?old=0"):
            r = _http(api.url + path)
            assert r.status == 404
            assert r.json()["error"] == "the log has not signed a checkpoint yet"


def test_parallel_requests(read_log: _Log) -> None:
    """Each request has its own store connection; many at once all succeed."""
    errors: list[str] = []

    def worker(k: int) -> None:
        for j in range(5):
            r = _http(f"{read_log.url}/proof/inclusion?index={(k * 37 + j) % 604}")
            if r.status != 200:
                errors.append(r.body.decode())

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- cosignatures --------------------------------------------------------------------------------


def _served(log: _Log) -> str:
    return _http(f"{log.url}/checkpoint").body.decode()


def _cosign(note: str, signer: CosignatureSigner, when: int = NOW) -> str:
    text = note[: note.find("\n\n") + 1]
    return note + signer.cosign(text, when).line


def _post(log: _Log, body: str | bytes) -> _Reply:
    data = body.encode() if isinstance(body, str) else body
    return _http(f"{log.url}/cosignature", data=data, method="POST")


def test_cosignature_is_verified_stored_and_served(slog: _Log) -> None:
    r = _post(slog, _cosign(_served(slog), WITNESS))
    assert r.status == 200
    assert r.json() == {"size": 4, "accepted": [WITNESS.name]}
    note = _served(slog)
    cp, opened = open_checkpoint(note, slog.ledger.signer.verifier, [WITNESS.verifier])
    assert cp.size == 4 and opened.signed_by(WITNESS.name)
    assert note.count(f"— {WITNESS.name} ") == 1
    # a fresher cosignature replaces the older one instead of piling up
    assert _post(slog, _cosign(_served(slog).split(f"— {WITNESS.name}")[0], WITNESS,
                            NOW + 60)).status == 200
    assert _served(slog).count(f"— {WITNESS.name} ") == 1
    assert slog.ledger.store.cosignatures(4) == [
        WITNESS.cosign(cp.text(), NOW + 60).line]


@pytest.mark.interop
def test_go_checks_the_served_cosignature(slog: _Log, go_verify: Path) -> None:
    assert _post(slog, _cosign(_served(slog), WITNESS)).status == 200
    res = subprocess.run([str(go_verify), "verify-cosignature", slog.ledger.signer.verifier.vkey,
                          WITNESS.verifier.vkey], input=_served(slog).encode(),
                         capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.decode() == f"ok {WITNESS.name} {NOW}\n"
    res = subprocess.run([str(go_verify), "verify-note", slog.ledger.signer.verifier.vkey],
                         input=_served(slog).encode(), capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()  # note.Open ignores the witness line


def test_cosignature_for_an_old_checkpoint_is_a_conflict(slog: _Log) -> None:
    old = _served(slog)
    _grow(slog.ledger, slog.entries, 3)
    slog.ledger.checkpoint_now()
    r = _post(slog, _cosign(old, WITNESS))
    assert r.status == 409
    assert r.json()["size"] == 7 and "not the log's latest" in r.json()["error"]
    assert slog.ledger.store.cosignatures(4) == []


def test_unknown_witness_is_forbidden(slog: _Log) -> None:
    r = _post(slog, _cosign(_served(slog), STRANGER))
    assert r.status == 403
    assert r.json()["error"] == ("no cosignature by a witness this log knows (lines by: "
                                 "stranger.example)")


def test_forged_cosignature_is_refused(slog: _Log) -> None:
    note = _cosign(_served(slog), WITNESS)
    line = note.splitlines()[-1]
    name, sig = line.rsplit(" ", 1)
    raw = bytearray(_unb64(sig))
    raw[40] ^= 1  # inside the Ed25519 signature, after key id and timestamp
    r = _post(slog, note.replace(line, f"{name} {_b64(bytes(raw))}"))
    assert r.status == 400
    assert "invalid signature by witness.example-town.lg.jp" in r.json()["error"]


def test_checkpoint_not_signed_by_the_log_is_refused(slog: _Log) -> None:
    note = _served(slog)
    text = note[: note.find("\n\n") + 1]
    other = NoteSigner(slog.ledger.origin, fixed_key("not-the-log"))
    r = _post(slog, _cosign(sign_note(text, [other]), WITNESS))
    assert r.status == 400
    assert "not a checkpoint signed by this log" in r.json()["error"]
    assert _post(slog, b"\xff\xfe garbage").status == 400


def test_body_limits(slog: _Log) -> None:
    r = _post(slog, b"x" * (64 * 1024 + 1))
    assert r.status == 413 and r.json()["parameter"] == "body"
    r = _http(f"{slog.url}/elsewhere", data=b"x", method="POST")
    assert r.status == 404


def test_a_log_with_no_witnesses_refuses_cosignatures(store_backend: StoreBackend,
                                                      ledger: Ledger) -> None:
    enrol_device(ledger, Device())
    with _start_api(store_backend, ledger, ()) as api:
        note = _http(f"{api.url}/checkpoint").body.decode()
        r = _http(f"{api.url}/cosignature", data=_cosign(note, WITNESS).encode(), method="POST")
        assert r.status == 403 and "accepts no witnesses" in r.json()["error"]


# --- the CLI: serve --http, http ------------------------------------------------------------------


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("8080", ":80", "host:", "host:x", "host:70000"):
        with pytest.raises(Rejected, match="expected HOST:PORT"):
            parse_listen(bad)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
def test_serve_with_http_stops_cleanly_on_sigterm(tmp_path: Path, broker: Mosquitto,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    conf = state / "aggregator.toml"
    assert aggregator_main(["--config", str(conf), "init", str(state), "--origin",
                            "eco-ledger.http.test", "--broker", broker.url]) == 0
    text = conf.read_text().replace('client_id = "eco-aggregator-1"', 'client_id = "agg-http"')
    conf.write_text(text.replace('share_group = "aggregators"', 'share_group = "g-http"'))
    device = Device()
    assert aggregator_main(["--config", str(conf), "enrol", "--public-key",
                            _b64(public_key_raw(device.key)), "--household", "h",
                            "--programme", "p", "--meter",
                            "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS]) == 0
    capsys.readouterr()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(conf),
                             "serve", "--http", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                r = _http(f"http://127.0.0.1:{port}/checkpoint")
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the read API did not come up"
                time.sleep(0.1)
        assert r.status == 200 and r.body.startswith(b"eco-ledger.http.test\n1\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["size"] == 1
    with pytest.raises(urllib.error.URLError):
        _http(f"http://127.0.0.1:{port}/checkpoint")
