"""agent.meters.mqtt_payloads and mqtt_devices: the pure decoders against the devices' payloads
(tests/vectors/mqtt_devices.json), the tracker's offline/stale/retained rules, exact decimal
scaling, and "any bytes give a value or our PayloadError" properties."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.meters.mqtt_devices import (
    Device,
    DeviceSpec,
    DeviceState,
    DeviceUnavailable,
    apply_message,
    current_reading,
)
from agent.meters.mqtt_payloads import (
    SHELLY_FIELDS,
    PayloadError,
    decode_openevse_announce,
    decode_shelly_energy,
    decode_shelly_online,
    decode_tasmota_lwt,
    decode_tasmota_sensor,
    load_json,
    openevse_announce_matches,
    overlay,
    parse_plain_number,
    parse_shelly_frame,
    parse_shelly_status,
    to_power_w,
    to_register_wh,
)

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "mqtt_devices.json").read_text())
TASMOTA = VECTORS["tasmota"]
SHELLY = VECTORS["shelly"]
OPENEVSE = VECTORS["openevse"]


def _cases(entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(e["name"], e, x) for e in entries for x in e["expect"]]


# --- Tasmota -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "entry", "expect"), _cases(TASMOTA["sensor"]),
                         ids=[f"{n}-{x['channel']}-{x['field']}"
                              for n, _, x in _cases(TASMOTA["sensor"])])
def test_tasmota_sensor_vectors(name: str, entry: dict[str, Any], expect: dict[str, Any]) -> None:
    payload = entry["payload"].encode()
    if "error" in expect:
        with pytest.raises(PayloadError, match=expect["error"]):
            decode_tasmota_sensor(payload, channel=expect["channel"], field_name=expect["field"])
        return
    r = decode_tasmota_sensor(payload, channel=expect["channel"], field_name=expect["field"])
    assert r.register_wh == expect["register_wh"]
    assert r.power_w == expect["power_w"]
    assert r.raw[r.label] == str(Decimal(r.raw[r.label]))  # the device's own decimal text


def test_tasmota_vectors_through_the_tracker_with_a_custom_full_topic() -> None:
    entry = TASMOTA["sensor"][0]
    spec = DeviceSpec(Device.TASMOTA, entry["topic"])  # a FullTopic ending in /SENSOR
    assert spec.availability_topic == "emoncms/ch2i/factory/denky_D6C0C0/tele/LWT"
    state = apply_message(spec, DeviceState(), entry["topic"], entry["payload"].encode(), False,
                          at=10.0, wall=1e9)
    heard = current_reading(spec, state, now=11.0, stale_after_s=900)
    assert heard.reading.register_wh == 9098245
    # a SENSOR message without ENERGY (a Teleinfo raw frame) neither replaces nor spoils it
    raw = TASMOTA["sensor"][3]["payload"].encode()
    state2 = apply_message(spec, state, entry["topic"], raw, False, at=12.0, wall=1e9 + 2)
    assert state2.latest == state.latest and state2.problem is None
    # …but it is reported while nothing else has been heard
    state3 = apply_message(spec, DeviceState(), entry["topic"], raw, False, at=12.0, wall=1e9)
    with pytest.raises(DeviceUnavailable, match="no ENERGY object"):
        current_reading(spec, state3, now=13.0, stale_after_s=900)


@pytest.mark.parametrize("entry", TASMOTA["lwt"], ids=lambda e: repr(e["payload"]))
def test_tasmota_lwt_vectors(entry: dict[str, Any]) -> None:
    assert decode_tasmota_lwt(entry["payload"].encode()) is entry["online"]


def test_tasmota_lwt_unknown_payload() -> None:
    with pytest.raises(PayloadError, match="neither Online nor Offline"):
        decode_tasmota_lwt(b"Maybe")


# --- Shelly --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "entry", "expect"), _cases(SHELLY["events_rpc"]),
                         ids=[f"{n}-{x['field']}" for n, _, x in _cases(SHELLY["events_rpc"])])
def test_shelly_notifystatus_vectors(name: str, entry: dict[str, Any],
                                     expect: dict[str, Any]) -> None:
    frame = parse_shelly_frame(entry["payload"].encode())
    assert frame is not None and not frame.full
    status = frame.components.get(expect["component"], {})
    r = decode_shelly_energy(expect["component"], status, expect["field"])
    if expect["register_wh"] is None:
        assert r is None
    else:
        assert r is not None and r.register_wh == expect["register_wh"]
        if "power_w" in expect:
            assert r.power_w == expect["power_w"]
    # the same through the tracker, subscribed under the documented prefix
    comp, cid = expect["component"].split(":")
    spec = DeviceSpec(Device.SHELLY, entry["prefix"], int(cid), expect["field"])
    state = apply_message(spec, DeviceState(), f"{entry['prefix']}/events/rpc",
                          entry["payload"].encode(), False, at=1.0, wall=1.7e9)
    if expect["register_wh"] is None:
        assert state.latest is None and state.problem is None
    else:
        assert state.latest is not None
        assert state.latest.reading.register_wh == expect["register_wh"]
        assert state.latest.reading.raw["src"] == json.loads(entry["payload"])["src"]


@pytest.mark.parametrize(("name", "entry", "expect"), _cases(SHELLY["status"]),
                         ids=[f"{n}-{x['field']}" for n, _, x in _cases(SHELLY["status"])])
def test_shelly_status_vectors(name: str, entry: dict[str, Any], expect: dict[str, Any]) -> None:
    status = parse_shelly_status(entry["payload"].encode())
    r = decode_shelly_energy(expect["component"], status, expect["field"])
    if expect["register_wh"] is None:
        assert r is None
    else:
        assert r is not None and r.register_wh == expect["register_wh"]
        assert r.power_w == expect["power_w"]


@pytest.mark.parametrize("entry", SHELLY["online"], ids=lambda e: e["payload"])
def test_shelly_online_vectors(entry: dict[str, Any]) -> None:
    assert decode_shelly_online(entry["payload"].encode()) is entry["online"]


def test_shelly_notifyevent_and_responses_carry_no_status() -> None:
    assert parse_shelly_frame(b'{"method":"NotifyEvent","params":{"ts":1,"events":[]}}') is None
    assert parse_shelly_frame(b'{"id":1,"src":"x","result":{"was_on":true}}') is None
    with pytest.raises(PayloadError, match="without a params object"):
        parse_shelly_frame(b'{"method":"NotifyStatus","params":[]}')


def test_overlay_partial_notifystatus_on_a_known_status() -> None:
    """The documented use of NotifyStatus: laid over the last full status."""
    base = parse_shelly_status(SHELLY["status"][0]["payload"].encode())  # Plus 2PM switch:0
    frame = parse_shelly_frame(SHELLY["events_rpc"][2]["payload"].encode())  # 1PM partial
    assert frame is not None
    merged = overlay(base, frame.components["switch:0"])
    assert merged["output"] is False and merged["temperature"] == base["temperature"]
    assert merged["voltage"] == Decimal("228.5")
    assert merged["aenergy"] == {"total": 0, "by_minute": [0, 0, 0], "minute_ts": 1757591520}
    # nested objects are merged key by key, not replaced
    assert overlay({"aenergy": {"total": 5, "minute_ts": 1}}, {"aenergy": {"total": 7}}) == {
        "aenergy": {"total": 7, "minute_ts": 1}}
    assert base == parse_shelly_status(SHELLY["status"][0]["payload"].encode())  # untouched


def test_shelly_tracker_overlays_partial_frames_over_the_full_status() -> None:
    spec = DeviceSpec(Device.SHELLY, "shellypro3em-abc", 0, "total_act_ret")
    full = (b'{"id":0,"a_total_act_energy":1.00,"total_act":1000.55,"total_act_ret":2000.99,'
            b'"total_act_ret_extra":1}')
    s = apply_message(spec, DeviceState(), "shellypro3em-abc/status/emdata:0", full, False,
                      at=1.0, wall=1.0)
    assert s.latest is not None and s.latest.reading.register_wh == 2000
    partial = (b'{"src":"shellypro3em-abc","method":"NotifyStatus","params":{"ts":5.5,'
               b'"emdata:0":{"id":0,"total_act":1003.01}}}')
    s = apply_message(spec, s, "shellypro3em-abc/events/rpc", partial, False, at=5.0, wall=5.0)
    assert s.latest is not None
    assert s.latest.reading.register_wh == 2000 and s.latest.at == 5.0  # re-confirmed
    assert s.shelly_status["emdata:0"]["total_act"] == Decimal("1003.01")
    imp = DeviceSpec(Device.SHELLY, "shellypro3em-abc", 0, "total_act")
    s2 = apply_message(imp, DeviceState(), "shellypro3em-abc/status/emdata:0", full, False,
                       at=1.0, wall=1.0)
    s2 = apply_message(imp, s2, "shellypro3em-abc/events/rpc", partial, False, at=5.0, wall=5.0)
    assert s2.latest is not None and s2.latest.reading.register_wh == 1003
    # frames about other components do not touch it; NotifyFullStatus replaces
    other = b'{"method":"NotifyStatus","params":{"ts":6,"sys":{"uptime":3}}}'
    assert apply_message(imp, s2, "shellypro3em-abc/events/rpc", other, False, 6.0,
                         6.0).latest == s2.latest
    fullstat = (b'{"method":"NotifyFullStatus","params":{"ts":7,'
                b'"emdata:0":{"id":0,"total_act":1100}}}')
    s3 = apply_message(spec, s, "shellypro3em-abc/events/rpc", fullstat, False, 7.0, 7.0)
    assert "total_act_ret" not in s3.shelly_status["emdata:0"]
    assert s3.latest == s.latest  # the new full status has no total_act_ret: nothing new


# --- OpenEVSE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", OPENEVSE["announce"], ids=lambda e: e["name"])
def test_openevse_announce_vectors(entry: dict[str, Any]) -> None:
    ann = decode_openevse_announce(entry["payload"].encode())
    assert openevse_announce_matches(ann, entry["base"], None)
    assert not openevse_announce_matches(ann, "openevse-1234", "0123456789ab")
    spec = DeviceSpec(Device.OPENEVSE, entry["base"])
    s = apply_message(spec, DeviceState(), entry["topic"], entry["payload"].encode(), True,
                      at=1.0, wall=1.0)
    assert s.online is entry["online"]


def test_openevse_will_matches_the_id_seen_before_and_the_default_hostname() -> None:
    will = decode_openevse_announce(OPENEVSE["announce"][1]["payload"].encode())
    assert openevse_announce_matches(will, "house/ev", "c44f330dxxad")
    assert openevse_announce_matches(will, "openevse-55ad", None)
    assert not openevse_announce_matches(will, "house/ev", None)


def test_openevse_topic_vectors() -> None:
    entry = OPENEVSE["topics"][0]
    spec = DeviceSpec(Device.OPENEVSE, entry["base"])
    s = DeviceState()
    for key, value in entry["payloads"].items():
        s = apply_message(spec, s, f"{entry['base']}/{key}", value.encode(), False, 1.0, 1.0)
    assert s.problem is None
    heard = current_reading(spec, s, now=2.0, stale_after_s=120)
    assert heard.reading.register_wh == entry["expect"]["register_wh"]
    assert heard.reading.raw["session_energy"] == "25034" and heard.reading.raw["state"] == "254"


def test_openevse_plain_numbers() -> None:
    assert parse_plain_number(b" 12.5\n", "x") == Decimal("12.5")
    assert parse_plain_number(b"1.5e3", "x") == Decimal("1500")
    for bad in (b"nan", b"NaN", b"", b"12.3.4", b"1,5", b"0x10", b"+1", b"\xff", b"9" * 70):
        with pytest.raises(PayloadError):
            parse_plain_number(bad, "total_energy")


# --- exact scaling -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "exp", "wh"), [
    ("514.153", 3, 514153), ("0.0005", 3, 0), ("0.9999999999999999999999999999999", 3, 999),
    ("1E-999999", 3, 0), ("9007199254740.991", 3, 2**53 - 1),
    ("9007199254740.99199999", 3, 2**53 - 1), ("62758.285", 0, 62758),
    ("26289.57", 0, 26289), ("0", 3, 0), ("-0.0", 3, 0), ("1.5e3", 0, 1500),
    ("131881.86", 0, 131881), ("998", 3, 998000),
])
def test_to_register_wh_is_an_exact_floor(text: str, exp: int, wh: int) -> None:
    assert to_register_wh(Decimal(text), exp, "x") == wh


@pytest.mark.parametrize(("text", "message"), [
    ("-0.001", "negative"), ("9007199254740.992", "larger than"), ("1E+400", "larger than"),
    ("NaN", "not a finite"), ("Infinity", "not a finite"),
])
def test_to_register_wh_refuses(text: str, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        to_register_wh(Decimal(text), 3, "x")


def test_power_rounding() -> None:
    assert [to_power_w(Decimal(t)) for t in ("56", "-18.017", "0.5", "-0.5", "1e10")] == [
        56, -18, 1, -1, None]
    assert to_power_w(True) is None and to_power_w("56") is None


@settings(max_examples=300, deadline=None)
@given(wh=st.integers(0, 2**53 - 1), decimals=st.integers(3, 12))
def test_kwh_text_decodes_to_exactly_its_wh(wh: int, decimals: int) -> None:
    kwh = f"{wh // 1000}.{wh % 1000:03d}" + "7" * (decimals - 3)
    payload = ('{"ENERGY":{"Total":' + kwh + "}}").encode()
    assert decode_tasmota_sensor(payload).register_wh == wh


# --- device specs --------------------------------------------------------------------------------


def test_device_specs() -> None:
    t = DeviceSpec(Device.TASMOTA, "plug1", 1)
    assert t.subscriptions == ("tele/plug1/SENSOR", "tele/plug1/LWT")
    assert t.identity().model == "ENERGY.Total[1]" and t.identity().serial == "plug1"
    s = DeviceSpec(Device.SHELLY, "shellyplus1pm-aa")
    assert s.channel == 0 and s.field_name == "aenergy"
    assert s.subscriptions == ("shellyplus1pm-aa/status/switch:0", "shellyplus1pm-aa/status/pm1:0",
                               "shellyplus1pm-aa/status/cover:0", "shellyplus1pm-aa/events/rpc",
                               "shellyplus1pm-aa/online")
    o = DeviceSpec(Device.OPENEVSE, "emon/openevse-55ad")
    assert "emon/openevse-55ad/total_energy" in o.subscriptions
    assert o.availability_topic == "openevse/announce/+"
    for bad in ("", "a/+/b", "a/#", "/a", "a//b", "$SYS/x", "x" * 201):
        with pytest.raises(ValueError):
            DeviceSpec(Device.TASMOTA, bad)
    with pytest.raises(ValueError, match="field"):
        DeviceSpec(Device.TASMOTA, "p", field_name="aenergy")
    with pytest.raises(ValueError, match="no channels"):
        DeviceSpec(Device.OPENEVSE, "o", channel=0)
    with pytest.raises(ValueError, match="channel"):
        DeviceSpec(Device.SHELLY, "s", channel=256)
    assert set(SHELLY_FIELDS) >= {"total_act", "total_act_ret", "aenergy", "total_act_energy"}


# --- the tracker's judgement: offline, stale, retained, never heard ------------------------------


SPEC = DeviceSpec(Device.TASMOTA, "plug1")
GOOD = b'{"Time":"2026-06-21T12:00:00","ENERGY":{"Total":12.345,"Power":100}}'


def _heard(at: float = 100.0, retained: bool = False) -> DeviceState:
    return apply_message(SPEC, DeviceState(), "tele/plug1/SENSOR", GOOD, retained, at, 1.78e9)


def test_fresh_reading() -> None:
    heard = current_reading(SPEC, _heard(), now=150.0, stale_after_s=60)
    assert heard.reading.register_wh == 12345 and heard.reading.power_w == 100


def test_stale_reading_says_when_it_was_last_heard() -> None:
    with pytest.raises(DeviceUnavailable, match=r"last heard 61 s ago on tele/plug1/SENSOR \(at "
                                                r"2026-05-28T\d\d:\d\d:\d\dZ\), more than "
                                                r"stale_after_s = 60"):
        current_reading(SPEC, _heard(), now=161.0, stale_after_s=60)


def test_offline_announcement_beats_a_fresh_reading_and_a_new_reading_beats_it() -> None:
    s = apply_message(SPEC, _heard(), "tele/plug1/LWT", b"Offline", True, 120.0, 1.78e9 + 20)
    with pytest.raises(DeviceUnavailable, match=r"announced it is offline \(Offline\) on "
                                                r"tele/plug1/LWT .* heard 20 s before that"):
        current_reading(SPEC, s, now=121.0, stale_after_s=600)
    s = apply_message(SPEC, s, "tele/plug1/SENSOR", GOOD, False, 130.0, 1.78e9 + 30)
    assert current_reading(SPEC, s, now=131.0, stale_after_s=600).at == 130.0
    s = apply_message(SPEC, s, "tele/plug1/LWT", b"Online", True, 140.0, 1.78e9 + 40)
    assert s.online is True


def test_retained_reading_never_counts_as_fresh() -> None:
    with pytest.raises(DeviceUnavailable, match="only a retained value"):
        current_reading(SPEC, _heard(retained=True), now=100.0, stale_after_s=600)


def test_never_heard_names_the_topic_and_link_problems_come_first() -> None:
    with pytest.raises(DeviceUnavailable, match=r"nothing heard on tele/plug1/SENSOR in 5 s "
                                                r"since subscribing; check the device's MQTT "
                                                r"Topic .*TelePeriod"):
        current_reading(SPEC, DeviceState(), now=10.0, stale_after_s=600, listening_since=5.0)
    with pytest.raises(DeviceUnavailable, match="cannot reach"):
        current_reading(SPEC, DeviceState(), now=10.0, stale_after_s=600,
                        link_problem="cannot reach the broker")


def test_unusable_payload_keeps_the_last_good_reading_and_is_reported_when_stale() -> None:
    s = apply_message(SPEC, _heard(), "tele/plug1/SENSOR", b'{"ENERGY":{"Total":"x"}}', False,
                      110.0, 1.78e9 + 10)
    assert s.latest is not None and s.latest.reading.register_wh == 12345
    assert current_reading(SPEC, s, now=120.0, stale_after_s=60).at == 100.0
    with pytest.raises(DeviceUnavailable, match=r"since then the payload on tele/plug1/SENSOR "
                                                r"was unusable: ENERGY.Total is \"x\""):
        current_reading(SPEC, s, now=170.0, stale_after_s=60)
    s0 = apply_message(SPEC, DeviceState(), "tele/plug1/SENSOR", b"{", False, 1.0, 1.0)
    with pytest.raises(DeviceUnavailable, match="nothing usable heard yet.*not valid JSON"):
        current_reading(SPEC, s0, now=2.0, stale_after_s=60)


# --- properties: any input gives a value or PayloadError, never another exception ----------------


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                       st.decimals(allow_nan=False, allow_infinity=False))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _dump(v: Any) -> str:
    return json.dumps(v, default=str).replace('"__d__', "").replace('__d__"', "")


def _json_text(v: Any) -> bytes:
    def enc(x: Any) -> Any:
        if isinstance(x, Decimal):
            return f"__d__{x}__d__"
        if isinstance(x, list):
            return [enc(i) for i in x]
        if isinstance(x, dict):
            return {k: enc(i) for k, i in x.items()}
        return x
    return _dump(enc(v)).encode()


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_a_decoder(payload: bytes) -> None:
    for decode in (decode_tasmota_sensor, lambda p: decode_tasmota_sensor(p, channel=1),
                   decode_tasmota_lwt, parse_shelly_frame, parse_shelly_status,
                   decode_shelly_online, decode_openevse_announce, load_json,
                   lambda p: parse_plain_number(p, "x")):
        try:
            decode(payload)
        except PayloadError as e:
            assert str(e)


@settings(max_examples=400, deadline=None)
@given(value=_json, channel=st.one_of(st.none(), st.integers(0, 3)),
       field=st.sampled_from(["Total", "ExportActive"]))
def test_arbitrary_json_in_the_energy_object(value: Any, channel: int | None, field: str) -> None:
    for doc in ({"ENERGY": {field: value}}, {"ENERGY": value}, value,
                {"ENERGY": {field: value, "Power": value, "Today": value}}):
        try:
            r = decode_tasmota_sensor(_json_text(doc), channel=channel, field_name=field)
        except PayloadError as e:
            assert str(e)
        else:
            assert 0 <= r.register_wh <= 2**53 - 1


@settings(max_examples=400, deadline=None)
@given(value=_json, field=st.sampled_from(sorted(SHELLY_FIELDS)))
def test_arbitrary_json_in_a_shelly_status(value: Any, field: str) -> None:
    for status in ({field: value}, {field: {"total": value}}):
        try:
            parsed = parse_shelly_status(_json_text(status))
            decode_shelly_energy("switch:0", parsed, field)
        except PayloadError as e:
            assert str(e)
    frame = {"method": "NotifyStatus", "params": {"ts": value, "emdata:0": {field: value}}}
    try:
        parse_shelly_frame(_json_text(frame))
    except PayloadError as e:
        assert str(e)


_SPECS = [DeviceSpec(Device.TASMOTA, "p"), DeviceSpec(Device.TASMOTA, "p", 1),
          DeviceSpec(Device.SHELLY, "s", 0, "total_act"), DeviceSpec(Device.SHELLY, "s"),
          DeviceSpec(Device.OPENEVSE, "o")]


@settings(max_examples=300, deadline=None)
@given(spec=st.sampled_from(_SPECS), data=st.data(),
       payloads=st.lists(st.one_of(st.binary(max_size=120), _json.map(_json_text)), max_size=6))
def test_the_tracker_never_raises(spec: DeviceSpec, data: st.DataObject,
                                  payloads: list[bytes]) -> None:
    topics = [*spec.data_topics, spec.availability_topic.replace("+", "abcd"), "other/topic"]
    state = DeviceState()
    for i, p in enumerate(payloads):
        topic = data.draw(st.sampled_from(topics))
        state = apply_message(spec, state, topic, p, data.draw(st.booleans()), float(i), 1e9 + i)
    try:
        heard = current_reading(spec, state, now=float(len(payloads)), stale_after_s=3)
    except DeviceUnavailable as e:
        assert str(e)
    else:
        assert 0 <= heard.reading.register_wh <= 2**53 - 1
