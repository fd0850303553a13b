"""agent.config for protocol = "echonet-broute": keys, defaults, errors that name the key and
never show the B-route ID or password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.config import MeterProtocol, parse_config
from agent.errors import ConfigError
from eco_protocol.records import Quantity

RBID = "0123456789ABCDEF0123456789ABCDEF"
PASSWORD = "S3cretPassW0"


def _meter(**kw: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"id": "grid", "quantity": "grid_import",
                             "protocol": "echonet-broute", "port": "/dev/ttyUSB0",
                             "broute_id": RBID, "broute_password": PASSWORD}
    table.update(kw)
    return {k: v for k, v in table.items() if v is not None}


def _parse(table: dict[str, Any], path: Path | None = None) -> Any:
    return parse_config({"device": {"state_dir": "s"}, "meters": [table]}, path).meters[0]


def test_defaults() -> None:
    m = _parse(_meter())
    assert m.protocol is MeterProtocol.ECHONET_BROUTE and m.quantity is Quantity.GRID_IMPORT
    assert m.baudrate == 115200 and m.timeout_s == 10.0
    b = m.broute
    assert b is not None and b.family == "auto" and b.echonet_object == "smart_meter"
    assert (b.wisun_channel, b.pan_id, b.meter_mac) == (None, None, None)
    assert RBID not in repr(m) and PASSWORD not in repr(m)


def test_all_keys(tmp_path: Path) -> None:
    m = _parse(_meter(broute_password=None, broute_password_file="secret/pw", family="bp35c0",
                    echonet_object="solar", quantity="pv_generation", baudrate=9600,
                    timeout_s=5.0, wisun_channel=0x3B, pan_id=0xABCD,
                    meter_mac="001c6400030c12a4"), tmp_path / "agent.toml")
    b = m.broute
    assert b.broute_password is None and b.broute_password_file == tmp_path / "secret" / "pw"
    assert (b.family, b.echonet_object, m.baudrate, m.timeout_s) == ("bp35c0", "solar", 9600, 5.0)
    assert (b.wisun_channel, b.pan_id, b.meter_mac) == (0x3B, 0xABCD, "001C6400030C12A4")


@pytest.mark.parametrize(("table", "message"), [
    (_meter(broute_id=None), "broute_id is missing"),
    (_meter(broute_id="abc"), "broute_id must be the 32-character B-route ID .*got 3"),
    (_meter(broute_password=None), "exactly one of broute_password and broute_password_file"),
    (_meter(broute_password_file="pw"), "exactly one of"),
    (_meter(broute_password="has a space"), "broute_password must be 1–32 .*got 11"),
    (_meter(family="bp35a2"), "family = 'bp35a2'"),
    (_meter(echonet_object="battery"), "echonet_object = 'battery'"),
    (_meter(echonet_object="ev"), "quantity = 'grid_import' cannot be read from echonet_object"),
    (_meter(wisun_channel=33), "give all three or none"),
    (_meter(wisun_channel=20, pan_id=1, meter_mac="001C6400030C12A4"), "wisun_channel = 20"),
    (_meter(wisun_channel=33, pan_id=1, meter_mac="XYZ"), "meter_mac = 'XYZ'"),
    (_meter(unit=2), "unit does not apply to protocol"),
    (_meter(topic="tele/x/SENSOR"), "topic does not apply"),
    (_meter(timeout_s=0.1), "timeout_s = 0.1 is out of range"),
    ({"id": "pv", "quantity": "pv_generation", "port": "/dev/ttyUSB0", "broute_id": RBID},
     "broute_id does not apply to protocol"),
])
def test_errors_name_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _parse(table)
    assert PASSWORD not in str(info.value)
    if table.get("broute_id") == RBID:
        assert RBID not in str(info.value)
