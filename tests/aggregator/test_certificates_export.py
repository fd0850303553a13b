"""``eco-aggregator certificates export`` then ``eco-verify certificates``, as operator and
buyer run them: a real initialised state (SQLite), readings through the real intake, a witness
cosignature on the checkpoint, both installed commands each in its own process. The buyer's
check passes on the export and refuses a copy whose face value was raised."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.cli import main
from aggregator.cli.common import open_ledger
from aggregator.config import load_config
from eco_protocol.note import CosignatureSigner
from tests.methodology.batch_kit import three_homes

pytestmark = pytest.mark.integration  # the installed commands in their own processes

PROG = "export-cert-prog"
WITNESS = CosignatureSigner("witness.example", Ed25519PrivateKey.generate())


def _aggregator(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(conf), *args],
                          capture_output=True, text=True, timeout=300, check=False)


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("eco-verify")
    return subprocess.run([str(exe), "certificates", *args], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture
def state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """An initialised state with three homes' readings and issued certificates for a day;
    returns the config and the log's verifier key."""
    state = tmp_path / "state"
    assert main(["init", str(state), "--origin", "cert-export.example"]) == 0
    conf = state / "aggregator.toml"
    assert main(["--config", str(conf), "programme", "init", "--id", PROG]) == 0
    capsys.readouterr()
    ledger = open_ledger(load_config(conf))
    three_homes(ledger, PROG, intervals=16, battery_home=True)
    ledger.store.close()
    issued = _aggregator(conf, "certificates", "issue", "--period", "2026-11-22..2026-11-23")
    assert issued.returncode == 0, issued.stderr
    ledger = open_ledger(load_config(conf))
    row = ledger.latest_checkpoint()
    assert row is not None
    text = row.note[: row.note.find("\n\n") + 1]
    ledger.store.add_cosignature(row.size, WITNESS.name, WITNESS.cosign(text, 1_790_000_000).line)
    vkey = ledger.signer.verifier.vkey
    ledger.store.close()
    return conf, vkey


def test_export_verifies_offline_and_a_raised_face_value_is_refused(
        state: tuple[Path, str], tmp_path: Path) -> None:
    conf, vkey = state
    out = tmp_path / "export"
    proc = _aggregator(conf, "certificates", "export", "--out", str(out), "--household", "hh-0")
    assert proc.returncode == 0, proc.stderr
    done: dict[str, Any] = json.loads(proc.stdout)
    bundles = json.loads((out / "bundles.json").read_text())["bundles"]
    assert done["exported"] == len(bundles) > 0
    assert {b["device_id"] for b in bundles} == {"hh-0"}
    proofs = json.loads((out / "proofs.json").read_text())
    assert proofs["format"] == "eco.certificate-proofs/v1"
    assert f"— {WITNESS.name} " in proofs["checkpoint"]

    ok = _verify(str(out), "--log-key", vkey, "--witness", WITNESS.verifier.vkey,
                 "--min-witnesses", "1", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    first = ok.stdout.splitlines()[0]
    assert first.startswith(f"VALID certificates: {len(bundles)} bundles, "
                            f"{done['total_wh']} Wh")
    assert json.loads(ok.stdout.splitlines()[-1])["total_wh"] == done["total_wh"]
    assert "witnesses: witness.example" in ok.stdout

    # the witness the buyer requires did not cosign under that key: refused
    other = CosignatureSigner("witness.example", Ed25519PrivateKey.generate())
    bad_witness = _verify(str(out), "--log-key", vkey, "--witness", other.verifier.vkey,
                          "--min-witnesses", "1")
    assert bad_witness.returncode == 1
    assert bad_witness.stdout.startswith("INVALID certificates: the proof is not signed")

    tampered = tmp_path / "tampered"
    shutil.copytree(out, tampered)
    bundles[0]["bundle_quantity"] += 100
    bundles[0]["certificate_bundle_id_range_end"] += 100
    (tampered / "bundles.json").write_text(json.dumps({"bundles": bundles}))
    refused = _verify(str(tampered / "bundles.json"), "--log-key", vkey)
    assert refused.returncode == 1
    assert refused.stdout.startswith("INVALID certificates: a certificate says something its "
                                     "claim in the log does not")
    assert "bundle_quantity" in refused.stderr


def test_export_of_a_period_without_certificates_is_refused(state: tuple[Path, str],
                                                            tmp_path: Path) -> None:
    conf, _ = state
    proc = _aggregator(conf, "certificates", "export", "--out", str(tmp_path / "x"),
                       "--period", "2026-12-01..2026-12-02")
    assert proc.returncode == 1
    assert "no issued certificate under the latest checkpoint" in proc.stderr


def _request_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("eco-verify")
    return subprocess.run([str(exe), "certificate-request", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_buyers_move_their_certificates_and_the_operator_cannot(
        state: tuple[Path, str], tmp_path: Path) -> None:
    conf, vkey = state
    accounts = {}
    for name in ("alice", "bob"):
        made = _request_cmd("account", "--key", str(tmp_path / f"{name}.key"))
        assert made.returncode == 0, made.stderr
        accounts[name] = json.loads(made.stdout)["account"]
    listed = json.loads(_aggregator(conf, "certificates", "list", "--household", "hh-0").stdout)
    ref = listed["bundles"][0]["issuance_id"]
    first = int(listed["bundles"][0]["ids"].split("..")[0])
    ids, half = f"{first}..{first + 99}", f"{first}..{first + 49}"

    sold = _aggregator(conf, "certificates", "assign", "--ref", ref, "--ids", ids,
                       "--to", accounts["alice"])
    assert sold.returncode == 0, sold.stderr
    to_bob = tmp_path / "to-bob.json"
    made = _request_cmd("transfer", "--key", str(tmp_path / "alice.key"), "--ref", ref,
                        "--ids", half, "--to", accounts["bob"], "--out", str(to_bob))
    assert made.returncode == 0, made.stderr
    assert _aggregator(conf, "certificates", "transfer", str(to_bob)).returncode == 0
    # the same signed request again: refused, the log is unchanged
    again = _aggregator(conf, "certificates", "transfer", str(to_bob))
    assert again.returncode == 1 and "already used" in again.stderr
    # the operator sells Alice's remaining ids once more: they are hers now
    resold = _aggregator(conf, "certificates", "assign", "--ref", ref, "--ids",
                         f"{first + 50}..{first + 99}", "--to", accounts["bob"])
    assert resold.returncode == 1 and "no request signed by them" in resold.stderr
    # the operator edits Alice's request to send the ids elsewhere: her signature breaks
    edited = json.loads(to_bob.read_text())
    edited["to"] = accounts["alice"]
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    forged = _aggregator(conf, "certificates", "transfer", str(tmp_path / "edited.json"))
    assert forged.returncode == 1 and "signature" in forged.stderr
    cancel = tmp_path / "cancel.json"
    made = _request_cmd("cancel", "--key", str(tmp_path / "bob.key"), "--ref", ref, "--ids",
                        half, "--period", "2026-11-01..2026-12-01", "--beneficiary",
                        "Example Steel Co.", "--out", str(cancel))
    assert made.returncode == 0, made.stderr
    assert _aggregator(conf, "certificates", "cancel", str(cancel)).returncode == 0

    listed = json.loads(_aggregator(conf, "certificates", "list", "--household", "hh-0").stdout)
    assert listed["bundles"][0]["holders"] == {accounts["alice"]: 50, accounts["bob"]: 50,
                                               "issuer": int(listed["bundles"][0]["face_value_wh"])
                                               - 100}
    out = tmp_path / "export"
    assert _aggregator(conf, "certificates", "export", "--out", str(out)).returncode == 0
    ok = _verify(str(out), "--log-key", vkey)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "50 Wh cancelled" in ok.stdout.splitlines()[0]
    line = next(x for x in ok.stdout.splitlines() if x.strip().startswith(ref + ":"))
    assert f"50 ids cancelled by {accounts['bob']} for Example Steel Co." in line
    trail = [json.loads(x) for x in (conf.parent / "operator-audit.jsonl").read_text()
             .splitlines()]
    moves = [(r["action"], r["outcome"]) for r in trail if r["action"].startswith("cert")]
    assert moves == [("certificates-issue", "ok"),  # the state fixture's issuance
                     ("certificates-assign", "ok"), ("certificates-transfer", "ok"),
                     ("certificates-transfer", "refused"), ("certificates-assign", "refused"),
                     ("certificates-transfer", "refused"), ("certificates-cancel", "ok")]
