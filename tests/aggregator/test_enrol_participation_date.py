"""``eco-aggregator enrol --enrolled-at``: the participation date the operator declares, signed
into the enrolment as ``enrolled_at`` (what the before_joining and equipment-age rules count
from); a JST day or a UTC instant, never in the future, refused with a clear error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli import enrolled_at_from_flag, main
from aggregator.errors import Rejected
from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode, b64encode
from eco_protocol.keys import public_key_raw
from eco_protocol.records import Enrolment
from tests.aggregator.ledger_kit import PV_TERMS, Device

NOW = datetime(2026, 12, 4, 21, 5, 39, 123456, tzinfo=UTC)


def test_a_jst_day_is_its_midnight_an_instant_is_itself_and_the_default_is_now() -> None:
    assert enrolled_at_from_flag("2026-05-01", NOW) == "2026-04-30T15:00:00Z"
    assert enrolled_at_from_flag("2026-05-01T03:00:00Z", NOW) == "2026-05-01T03:00:00Z"
    assert enrolled_at_from_flag(None, NOW) == "2026-12-04T21:05:39Z"
    assert enrolled_at_from_flag("2026-12-04T21:05:39Z", NOW) == "2026-12-04T21:05:39Z"
    # today (JST) is allowed once its midnight has passed
    assert enrolled_at_from_flag("2026-12-05", NOW) == "2026-12-04T15:00:00Z"


@pytest.mark.parametrize(("text", "message"), [
    ("2026-12-06", "is in the future"),
    ("2026-12-04T21:05:40Z", "is in the future"),
    ("2031-01-01", "is in the future"),
    ("2026-5-1", "expected a JST day YYYY-MM-DD"),
    ("2026-02-30", "expected a JST day YYYY-MM-DD"),
    ("yesterday", "expected a JST day YYYY-MM-DD"),
    ("2026-05-01T12:00:00+09:00", "UTC instant YYYY-MM-DDTHH:MM:SSZ"),
])
def test_future_or_malformed_dates_are_refused(text: str, message: str) -> None:
    with pytest.raises(Rejected, match=message):
        enrolled_at_from_flag(text, NOW)


def test_enrol_signs_the_declared_date_and_refuses_a_future_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    conf = str(state / "aggregator.toml")
    assert main(["--config", conf, "init", str(state), "--origin", "eco-ledger.join.test"]) == 0
    capsys.readouterr()
    base = ["--config", conf, "enrol", "--household", "Sato, 1-2-3", "--programme", "p",
            "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS]
    device = Device()
    key = b64encode(public_key_raw(device.key))
    assert main([*base, "--public-key", key, "--enrolled-at", "2099-01-01"]) == 1
    err = capsys.readouterr().err
    assert "--enrolled-at '2099-01-01'" in err and "in the future" in err
    assert main([*base, "--public-key", key, "--enrolled-at", "2026-05-01"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["enrolled_at"] == "2026-04-30T15:00:00Z"
    assert main(["--config", conf, "ledger", "export", str(tmp_path / "ev")]) == 0
    line = (tmp_path / "ev" / "entries.jsonl").read_text().splitlines()[out["index"]]
    record = Enrolment.from_dict(parse_json(b64decode(parse_json(line)["entry_b64"], "e")))
    assert record.device_id == device.device_id
    assert record.enrolled_at == "2026-04-30T15:00:00Z"
