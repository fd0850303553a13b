"""agent.state: TinyDB behind an atomic storage with a .bak; torn and trailing-garbage files."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from tinydb import TinyDB
from tinydb.storages import JSONStorage

from agent.errors import StateCorrupt
from agent.meters.interface import MeterIdentity
from agent.state import AgentState, AtomicJSONStorage

PV = MeterIdentity("sunspec-modbus", "EcoSim", "ES-5K", "SN1")
PV2 = MeterIdentity("sunspec-modbus", "EcoSim", "ES-5K", "SN2")
AT = "2026-11-22T00:00:00Z"


def test_round_trip_mode_and_backup(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    st = AgentState(path)
    assert st.pinned_log_key() is None and st.meter_identity("pv1") is None
    st.pin_log_key("log+01234567+AAAA", AT)
    assert st.record_meter_identity("pv1", PV, AT)
    assert not st.record_meter_identity("pv1", PV, AT)  # unchanged: no write
    st.set_enrolment({"household": "h-1", "programme": "p"})
    st.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state.json.bak").exists()
    st = AgentState(path)
    assert st.recovered is None
    assert st.pinned_log_key() == "log+01234567+AAAA"
    assert st.meter_identity("pv1") == PV
    assert st.enrolment() == {"household": "h-1", "programme": "p"}
    assert st.record_meter_identity("pv1", PV2, AT)
    assert st.meter_identity("pv1") == PV2
    assert set(st.meters()) == {"pv1"}
    st.close()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unchanged_write_does_not_touch_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    st = AgentState(path)
    st.pin_log_key("k+01234567+AAAA", AT)
    st.record_meter_identity("pv1", PV, AT)
    before = os.stat(path).st_mtime_ns, path.read_bytes()
    st.pin_log_key("k+01234567+AAAA", AT)
    assert not st.record_meter_identity("pv1", PV, AT)
    assert (os.stat(path).st_mtime_ns, path.read_bytes()) == before
    st.close()


def _two_versions(path: Path) -> None:
    st = AgentState(path)
    st.record_meter_identity("pv1", PV, AT)
    st.record_meter_identity("pv1", PV2, AT)  # .bak now holds the SN1 version
    st.close()


def test_torn_main_file_is_recovered_from_the_backup(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.json"
    _two_versions(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # power cut in the middle of an in-place write
    with caplog.at_level(logging.WARNING, logger="agent.state"):
        st = AgentState(path)
    assert st.recovered is not None and "recovered the previous version" in st.recovered
    assert any("recovered" in r.getMessage() for r in caplog.records)
    assert st.meter_identity("pv1") == PV  # the previous complete version
    st.close()
    json.loads(path.read_text())  # repaired on disk
    assert AgentState(path).recovered is None


def test_missing_main_file_with_backup(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _two_versions(path)
    path.unlink()
    st = AgentState(path)
    assert st.recovered and "missing" in st.recovered
    assert st.meter_identity("pv1") == PV


def test_trailing_garbage_issue_301_shape(tmp_path: Path) -> None:
    # TinyDB's JSONStorage: write (shorter) JSON at offset 0, fsync, crash before truncate
    path = tmp_path / "state.json"
    db = TinyDB(path, storage=JSONStorage)
    db.table("meters").insert({"meter_id": "pv1", "protocol": "sunspec-modbus",
                               "manufacturer": "EcoSim", "model": "ES-5K", "serial": "SN1",
                               "first_seen": AT, "changed_at": AT, "note": "x" * 200})
    db.close()
    longer = path.read_bytes()
    db = TinyDB(path, storage=JSONStorage)
    db.table("meters").update({"note": ""})
    db.close()
    shorter = path.read_bytes()
    path.write_bytes(shorter + longer[len(shorter):])
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        json.loads(path.read_text())
    st = AgentState(path)
    assert st.recovered and "stray bytes" in st.recovered
    assert st.meter_identity("pv1") == PV
    st.close()
    assert json.loads(path.read_text())["meters"]["1"]["note"] == ""


def test_both_files_damaged_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _two_versions(path)
    path.write_bytes(b'{"meters": {"1": {"meter')
    (tmp_path / "state.json.bak").write_bytes(b"\x00\x00\x00")
    with pytest.raises(StateCorrupt) as e:
        AgentState(path)
    assert str(path) in str(e.value) and "move both files aside" in str(e.value)


def test_storage_rejects_non_tinydb_json(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(StateCorrupt, match="not a TinyDB document"):
        AtomicJSONStorage(path)
