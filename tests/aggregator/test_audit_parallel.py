"""``ledger verify`` with its signature checks in worker processes gives the same verdict, naming
the same entry with the same words, as the one-process audit (eco_protocol.parallel)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from aggregator.audit import audit
from aggregator.errors import StoreCorrupt
from aggregator.export import export_evidence
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from eco_protocol.canonical import canonical_bytes
from eco_protocol.evidence import verify_evidence
from eco_protocol.replay import EntryProblem
from tests.aggregator.ledger_kit import Device, StoreBackend, enrol_device

NOW = "2026-11-23T00:00:00Z"


def _populated(ledger: Ledger) -> list[int]:
    """Three devices, twelve readings each; returns the readings' leaf indexes."""
    intake = Intake(ledger)
    devices = [Device() for _ in range(3)]
    for d in devices:
        enrol_device(ledger, d)
    leaves: list[int] = []
    for _ in range(3):
        for d in devices:
            (o,) = intake.process([(d.topic, canonical_bytes([d.reading() for _ in range(4)]))],
                                  NOW)
            assert o.accepted == 4 and o.receipt is not None
            leaves += [i["leaf_index"] for i in o.receipt["items"]]
    ledger.checkpoint_now()
    return leaves


def _verdict(ledger: Ledger, workers: int) -> str:
    try:
        r = audit(ledger, workers=workers)
    except StoreCorrupt as e:
        return f"corrupt: {e}"
    return f"ok {r.size} {r.counts} {r.root_hex}"


def test_same_verdict_on_a_sound_ledger(ledger: Ledger) -> None:
    _populated(ledger)
    assert _verdict(ledger, 1) == _verdict(ledger, 0)
    assert _verdict(ledger, 2).startswith("ok ")


@pytest.mark.parametrize("change", [
    (b'"energy_wh":', b'"energy_wh":1'),  # signature and leaf hash both fail
    (b'"sig":"', b'"sig":"A'),  # not base64 of 64 bytes any more: malformed
    (b'"seq":', b'"seq":9'),  # signature, chain and leaf all fail
])
def test_same_entry_and_words_for_a_tampered_reading(ledger: Ledger,
                                                     store_backend: StoreBackend,
                                                     change: tuple[bytes, bytes]) -> None:
    leaves = _populated(ledger)
    for idx in (leaves[0], leaves[17], leaves[-1]):
        ((data,),) = store_backend.execute(ledger.store, "SELECT data FROM entry WHERE idx=?",
                                           (idx,))
        original = bytes(data)
        store_backend.execute(ledger.store, "UPDATE entry SET data=? WHERE idx=?",
                              (original.replace(*change, 1), idx))
        one = _verdict(ledger, 0)
        assert one.startswith("corrupt: ") and f"entry {idx}" in one
        assert _verdict(ledger, 1) == one
        store_backend.execute(ledger.store, "UPDATE entry SET data=? WHERE idx=?",
                              (original, idx))


def test_an_earlier_bad_signature_wins_over_a_later_broken_chain(
        ledger: Ledger, store_backend: StoreBackend) -> None:
    leaves = _populated(ledger)
    early, late = leaves[3], leaves[30]
    # a signature swapped for another reading's (valid base64, wrong signature)
    rows = store_backend.execute(ledger.store, "SELECT idx, data FROM entry WHERE idx IN (?, ?)",
                                 (early, leaves[4]))
    datas = {int(i): bytes(d) for i, d in rows}
    sig_of = {i: d.split(b'"sig":"', 1)[1].split(b'"', 1)[0] for i, d in datas.items()}
    store_backend.execute(ledger.store, "UPDATE entry SET data=? WHERE idx=?",
                          (datas[early].replace(sig_of[early], sig_of[leaves[4]]), early))
    ((data,),) = store_backend.execute(ledger.store, "SELECT data FROM entry WHERE idx=?",
                                       (late,))
    store_backend.execute(ledger.store, "UPDATE entry SET data=? WHERE idx=?",
                          (bytes(data).replace(b'"prev":"', b'"prev":"0', 1)[:-2] + b'}', late))
    one = _verdict(ledger, 0)
    assert f"entry {early}" in one and "signature does not verify" in one
    assert _verdict(ledger, 1) == one


def test_offline_evidence_check_names_the_same_entry_with_a_pool(
        ledger: Ledger, tmp_path: Path) -> None:
    """eco-verify's replay (verify_evidence) with and without signature workers."""
    leaves = _populated(ledger)
    out = tmp_path / "evidence"
    export_evidence(ledger, out)
    lines = (out / "entries.jsonl").read_text().splitlines()
    checkpoint, vkey = (out / "checkpoint").read_text(), (out / "log.vkey").read_text()
    ok = [verify_evidence(checkpoint, vkey, [], lines, workers=w) for w in (0, 1)]
    assert ok[0] == ok[1]
    idx = leaves[9]
    obj = json.loads(lines[idx])
    entry = base64.b64decode(obj["entry_b64"]).replace(b'"energy_wh":', b'"energy_wh":1', 1)
    obj["entry_b64"] = base64.b64encode(entry).decode()
    lines[idx] = json.dumps(obj)
    verdicts = []
    for w in (0, 1):
        with pytest.raises(EntryProblem) as e:
            verify_evidence(checkpoint, vkey, [], lines, workers=w)
        verdicts.append(str(e.value))
    assert verdicts[0] == verdicts[1] and verdicts[0].startswith(f"entry {idx}: ")
