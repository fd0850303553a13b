"""agent.config for the MQTT meters (tasmota, shelly, openevse): keys, defaults, the uplink
broker as default, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import MeterProtocol, example_config, parse_config_text
from agent.errors import ConfigError
from agent.meters.mqtt_config import DEFAULT_STALE_AFTER_S
from agent.meters.mqtt_devices import Device
from agent.meters.mqtt_meter import MqttMeter, meter_from_config
from eco_protocol.keys import private_key_from_raw
from eco_protocol.note import NoteSigner

VKEY = NoteSigner("eco-ledger.example-city.lg.jp", private_key_from_raw(b"\x07" * 32)).verifier.vkey
HEAD = f"""
[device]
state_dir = "state"
log_key = "{VKEY}"

[uplink]
broker = "mqtts://broker.example-city.lg.jp:8883"
username = "dev1"
password = "pw"
ca_file = "ca.crt"
"""


def _conf(*meters: str) -> str:
    return HEAD + "".join(f"\n[[meters]]\n{m.strip()}\n" for m in meters)


TASMOTA = 'id = "pv1"\nquantity = "pv_generation"\nprotocol = "tasmota"\ntopic = "plug1"'


def test_tasmota_defaults_to_the_uplink_broker_and_its_login(tmp_path: Path) -> None:
    cfg = parse_config_text(_conf(TASMOTA), tmp_path / "agent.toml")
    m = cfg.meters[0]
    assert m.protocol is MeterProtocol.TASMOTA and m.port == ""
    assert m.mqtt is not None
    assert m.mqtt.broker == "mqtts://broker.example-city.lg.jp:8883"
    assert (m.mqtt.username, m.mqtt.password, m.mqtt.tls) == ("dev1", "pw", True)
    assert m.mqtt.ca_file == tmp_path / "ca.crt"
    assert m.mqtt.stale_after_s == DEFAULT_STALE_AFTER_S[MeterProtocol.TASMOTA] == 900.0
    spec = m.mqtt.spec(m.protocol)
    assert spec.device is Device.TASMOTA and spec.channel is None and spec.field_name == "Total"


def test_explicit_broker_channel_field_and_stale_bound() -> None:
    cfg = parse_config_text(_conf(
        'id = "grid-out"\nquantity = "grid_export"\nprotocol = "shelly"\n'
        'broker = "mqtt://192.168.1.10:1883"\ntopic = "shellypro3em-8813bfe14804"\n'
        'field = "total_act_ret"\nstale_after_s = 90\nusername = "agent"\npassword = "x"',
        'id = "ch2"\nquantity = "grid_import"\nprotocol = "tasmota"\ntopic = "dual"\n'
        'channel = 1\nfield = "ExportActive"',
        'id = "ev1"\nquantity = "ev_charge"\nprotocol = "openevse"\ntopic = "emon/openevse-55ad"'))
    shelly, dual, ev = (m.mqtt for m in cfg.meters)
    assert shelly is not None and dual is not None and ev is not None
    assert (shelly.broker, shelly.tls, shelly.ca_file) == ("mqtt://192.168.1.10:1883", False,
                                                           None)
    assert (shelly.username, shelly.stale_after_s, shelly.field) == ("agent", 90.0,
                                                                     "total_act_ret")
    assert shelly.spec(MeterProtocol.SHELLY).subscriptions[0] == \
        "shellypro3em-8813bfe14804/status/emdata:0"
    assert (dual.channel, dual.field) == (1, "ExportActive")
    assert ev.stale_after_s == 120.0 and ev.spec(MeterProtocol.OPENEVSE).channel is None


BAD = [
    (TASMOTA + '\nport = "/dev/ttyUSB0"', 'port does not apply to protocol = "tasmota"'),
    (TASMOTA + "\nunit = 2", 'unit does not apply to protocol = "tasmota"'),
    (TASMOTA + '\nbroute_id = "00112233445566778899AABBCCDDEEFF"', "broute_id does not apply"),
    ('id = "pv1"\nquantity = "pv_generation"\nprotocol = "tasmota"', "topic is missing"),
    (TASMOTA + '\nfield = "aenergy"', "field = 'aenergy': use one of Total, ExportActive"),
    (TASMOTA + "\nchannel = -1", "channel = -1 is out of range"),
    (TASMOTA + '\nchannel = "1"', "channel must be a whole number"),
    (TASMOTA + "\nstale_after_s = 0", "stale_after_s = 0 is out of range"),
    (TASMOTA + '\nbroker = "tcp://h:1883"', "broker = 'tcp://h:1883' is not a broker URL: use mqtt://HOST:PORT"),
    (TASMOTA + '\nbroker = "mqtt://h:99999"', "broker = 'mqtt://h:99999' has an invalid port"),
    (TASMOTA + '\nbroker = "mqtt://u:p@h:1883"', "put a login in username/password"),
    (TASMOTA.replace('"plug1"', '"tele/+/SENSOR"'), "must not contain + #"),
    ('id = "ev1"\nquantity = "ev_charge"\nprotocol = "openevse"\ntopic = "o"\nchannel = 0',
     'channel does not apply to protocol = "openevse"'),
    ('id = "ev1"\nquantity = "ev_charge"\nprotocol = "openevse"\ntopic = "o"\n'
     'field = "session_energy"', 'field does not apply to protocol = "openevse"'),
    ('id = "s"\nquantity = "grid_import"\nprotocol = "shelly"\ntopic = "s"\nfield = "Total"',
     "field = 'Total': use one of aenergy"),
    ('id = "pv1"\nquantity = "pv_generation"\nport = "/dev/ttyUSB0"\ntopic = "x"',
     'topic does not apply to protocol = "sunspec-modbus"'),
]


@pytest.mark.parametrize(("meter", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_mqtt_meters_name_the_key(meter: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config_text(_conf(meter))
    assert message in str(e.value)
    assert "[[meters]] id=" in str(e.value)


def test_example_config_lists_the_mqtt_protocols_and_its_commented_examples_parse() -> None:
    text = example_config()
    assert '"tasmota", "shelly", "openevse"' in text
    start = text.index("# MQTT energy devices")
    tables = [ln[2:] for ln in text[start:].splitlines()
              if ln.startswith("# ") and not ln.startswith("#  ")
              and ("=" in ln or ln.startswith("# [["))]
    cfg = parse_config_text(HEAD + "\n" + "\n".join(tables) + "\n")
    assert [m.protocol for m in cfg.meters] == [MeterProtocol.TASMOTA, MeterProtocol.SHELLY,
                                                MeterProtocol.OPENEVSE]


def test_meter_from_config_builds_a_reader_without_blocking(tmp_path: Path) -> None:
    cfg = parse_config_text(_conf(TASMOTA.replace('topic = "plug1"', 'topic = "plug1"\n'
                                                 'broker = "mqtt://127.0.0.1:1"')))
    meter = meter_from_config(cfg.meters[0])
    try:
        assert isinstance(meter, MqttMeter)
        assert meter.endpoint.url == "mqtt://127.0.0.1:1" and not meter.endpoint.tls
        assert meter.spec.identity().protocol == "tasmota"
    finally:
        meter.close()
