"""Quorum witnessing across a consortium, with real processes: town A's ledger made by the CLI
and served by ``eco-aggregator http``, town B's log behind the read API, and
``eco-aggregator consortium-witness`` run by town B's witness and by the verification body's.
A checkpoint of town A is published once both have cosigned it: ``eco-verify evidence
--consortium`` fails with a clear message before, passes after, and refuses a log that is not a
member; a witness key the consortium does not name is refused up front."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.cli import main as aggregator_main
from eco_protocol.encoding import b64encode
from eco_protocol.keyfile import save_private_key
from eco_protocol.keys import public_key_raw
from eco_protocol.note import (
    CosignatureSigner,
    NoteVerifier,
    open_checkpoint,
    parse_verifier_key,
)
from eco_protocol.verify_cli import main as verify_main
from tests.aggregator.consortium_kit import (
    LOG_B,
    ROOT,
    W_A,
    W_B,
    W_BODY,
    LiveLog,
    aggregator,
    get,
    write_consortium,
)
from tests.aggregator.ledger_kit import PV_TERMS
from tests.protocol.records_kit import fixed_key

ORIGIN_A = "eco-ledger.town-a.test"
pytestmark = pytest.mark.integration  # every test runs eco-aggregator processes


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    rc = aggregator_main(list(args))
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def _witness_key(d: Path, signer: CosignatureSigner) -> Path:
    key = d / f"{signer.name}.key"
    save_private_key(key, signer.private_key)
    (d / f"{signer.name}.key.vkey").write_text(signer.verifier.vkey + "\n")
    return key


class _TownA:
    """Town A: ``init`` and two enrolments by the CLI, its read API as its own process."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        state = tmp_path / "town-a"
        self.conf = str(state / "aggregator.toml")
        _cli(capsys, "--config", self.conf, "init", str(state), "--origin", ORIGIN_A)
        for n in range(2):
            _cli(capsys, "--config", self.conf, "enrol", "--public-key",
                b64encode(public_key_raw(fixed_key(f"town-a/dev{n}"))), "--household", f"h{n}",
                "--programme", "p", "--meter", "pv1:pv_generation:sunspec-modbus:4500",
                *PV_TERMS)
        self.vkey = _cli(capsys, "--config", self.conf, "log-key").strip()
        text = Path(self.conf).read_text()
        vkeys = ", ".join(f'"{w.verifier.vkey}"' for w in (W_B, W_BODY))
        Path(self.conf).write_text(text.replace("vkeys = []", f"vkeys = [{vkeys}]"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "--config", self.conf, "http",
             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdout is not None
        self.url = str(json.loads(self.proc.stdout.readline())["url"])

    def export(self, capsys: pytest.CaptureFixture[str], out: Path) -> Path:
        _cli(capsys, "--config", self.conf, "ledger", "export", str(out))
        return out

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err


@pytest.fixture
def towns(tmp_path: Path, capsys: pytest.CaptureFixture[str]
          ) -> Iterator[tuple[_TownA, LiveLog, Path]]:
    a = _TownA(tmp_path, capsys)
    b = LiveLog(tmp_path / "town-b.sqlite3", LOG_B, "b", (W_A.verifier, W_BODY.verifier))
    b.grow(3)
    conf = write_consortium(tmp_path / "consortium.toml", [
        ("town-a", a.vkey, a.url, W_A.name),
        ("town-b", LOG_B.verifier.vkey, b.url, W_B.name),
    ], [W_A, W_B, W_BODY], quorum=2)
    try:
        yield a, b, conf
    finally:
        b.close()
        a.stop()


def _consortium_witness(conf: Path, key: Path, rc: int = 0) -> dict[str, object]:
    res = aggregator("consortium-witness", "--consortium", str(conf), "--key", str(key),
                     "--once")
    assert res.returncode == rc, res.stderr
    out: dict[str, object] = json.loads(res.stdout) if rc == 0 else {"stderr": res.stderr}
    return out


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = verify_main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_checkpoint_is_published_once_the_quorum_has_cosigned(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        towns: tuple[_TownA, LiveLog, Path]) -> None:
    a, b, conf = towns
    keys = tmp_path / "keys"
    keys.mkdir()
    # town B's witness cosigns every other member's log: town A's only
    out = _consortium_witness(conf, _witness_key(keys, W_B))
    assert out["members"] == {"town-a": {"size": 2, "verdict": "first", "submitted": True,
                                         "accepted": [W_B.name], "published": False}}
    ev = a.export(capsys, tmp_path / "evidence-1")
    rc, _, err = _verify(capsys, "evidence", str(ev), "--log-key", a.vkey, "--consortium",
                        str(conf))
    assert rc == 1
    assert (f"FAIL --consortium: checkpoint of town-a (size 2) is not published: 1 of the 2 "
            f"required witness cosignatures ({W_B.name}; counted: {W_B.name}, {W_BODY.name})"
            in err)
    report = tmp_path / "report.json"  # a report's check starts with its checkpoint's quorum
    report.write_text(json.dumps({"checkpoint": (ev / "checkpoint").read_text()}))
    rc, stdout, err = _verify(capsys, "report", str(report), "--log-key", a.vkey,
                             "--consortium", str(conf))
    assert rc == 1 and stdout == "" and err.startswith("INVALID")
    assert "FAIL --consortium: checkpoint of town-a (size 2) is not published: 1 of the 2" in err
    # the verification body's witness cosigns both logs
    out = _consortium_witness(conf, _witness_key(keys, W_BODY))
    members = out["members"]
    assert isinstance(members, dict)
    assert members["town-a"]["published"] is True
    assert members["town-b"] == {"size": 3, "verdict": "first", "submitted": True,
                                 "accepted": [W_BODY.name], "published": False}
    ev = a.export(capsys, tmp_path / "evidence-2")
    rc, stdout, err = _verify(capsys, "evidence", str(ev), "--log-key", a.vkey,
                             "--consortium", str(conf))
    assert rc == 0, err
    assert (f"ok   published under the consortium's policy: 2 of 2 required cosignatures from "
            f"the 2 witnesses named for town-a ({W_BODY.name}, {W_B.name})") in stdout
    # a log the consortium does not name is refused, whatever it carries
    other = write_consortium(tmp_path / "other.toml", [
        ("town-b", LOG_B.verifier.vkey, b.url, W_B.name)], [W_A, W_B, W_BODY], quorum=1)
    rc, _, err = _verify(capsys, "evidence", str(ev), "--log-key", a.vkey, "--consortium",
                        str(other))
    assert rc == 1 and f"the checkpoint's log {ORIGIN_A!r} is not a member of consortium" in err


def test_a_witness_the_consortium_does_not_name_is_refused(
        tmp_path: Path, towns: tuple[_TownA, LiveLog, Path]) -> None:
    _, _, conf = towns
    stranger = CosignatureSigner("witness.stranger.test", fixed_key("consortium-test/stranger"))
    out = _consortium_witness(conf, _witness_key(tmp_path, stranger), rc=2)
    assert "is not one of the [[witnesses]] of consortium 'test-consortium'" in str(
        out["stderr"])


def test_a_broken_consortium_file_names_the_key_to_eco_verify(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        towns: tuple[_TownA, LiveLog, Path]) -> None:
    a, _, conf = towns
    ev = a.export(capsys, tmp_path / "evidence")
    conf.write_text(conf.read_text().replace("quorum = 2", "quorum = 5"))
    rc, _, err = _verify(capsys, "evidence", str(ev), "--log-key", a.vkey, "--consortium",
                        str(conf))
    assert rc == 1 and f"{conf}: policy.quorum must be an integer from 1 to 3" in err


def test_the_consortium_witness_service_cosigns_until_stopped(
        tmp_path: Path, towns: tuple[_TownA, LiveLog, Path]) -> None:
    a, b, conf = towns
    key = _witness_key(tmp_path, W_BODY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator.cli", "consortium-witness", "--consortium",
         str(conf), "--key", str(key), "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        b.grow(2)
        _wait_for_cosignature(b.url, LOG_B.verifier, 5, proc)
        _wait_for_cosignature(a.url, parse_verifier_key(a.vkey), 2, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "cosigned eco-ledger.town-b.test size 5" in err


def _wait_for_cosignature(url: str, log: NoteVerifier, size: int,
                          proc: subprocess.Popen[str]) -> None:
    """Poll until the log serves a checkpoint of ``size`` carrying the body's cosignature (the
    deadline only keeps a broken witness from hanging the suite)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        cp, note = open_checkpoint(get(f"{url}/checkpoint"), log, [W_BODY.verifier])
        if cp.size == size and note.signed_by(W_BODY.name):
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} never carried the body's cosignature at size {size}")
