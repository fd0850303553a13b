"""Issue 17, point 4: what the installer sees in the first hour. Each serial cause, the missing
device key, the TLS files and the broker's reasons are produced for real: ptys and the
simulated inverter, a process that drops root, files and directories, closed ports, an
unresolvable name and a TLS server whose certificate the ca_file did not sign.

How each serial cause is produced:
* no device: a path that does not exist (ENOENT from pyserial's open);
* permission: a pty node chmod 600; as root a child process drops to uid 65534 before it opens
  the port, otherwise the node is chmod 000 and opened in this process (EACCES both ways);
* busy: another process holds the pty with pyserial's exclusive lock (EWOULDBLOCK);
* no answer: ``firmware_sim.inverter.Faults(line_baud=19200)`` on a pty, read at 9600 baud.
"""

from __future__ import annotations

import datetime as dt
import errno
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.cli import main
from agent.clock import ManualClock
from agent.config import load_config
from agent.diagnose import (
    BrokerCause,
    SerialCause,
    broker_advice,
    classify_connect_error,
    classify_serial_error,
    power_text,
    render_status,
)
from agent.errors import ConfigError, MeterError
from agent.meters.sunspec import SunSpecModbusMeter
from agent.outbox import Outbox
from agent.uplink import Uplink
from aggregator.mosquitto import free_port
from firmware_sim.inverter import Faults, PtyInverter
from firmware_sim.solar import JST
from tests.agent.agent_kit import make_rig, wait_for, write_config

ROOT = Path(__file__).parents[2]
NOON = dt.datetime(2024, 5, 14, 12, 0, tzinfo=JST)
CONF = "/etc/eco-agent/agent.toml"


def _run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def inverter() -> Iterator[PtyInverter]:
    with PtyInverter(4500, 7, ManualClock(NOON), serial="SN-HOUR-1",
                     faults=Faults(line_baud=19200)) as inv:
        yield inv


# --- serial causes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "cause"), [
    (errno.EACCES, SerialCause.PERMISSION), (errno.EPERM, SerialCause.PERMISSION),
    (errno.ENOENT, SerialCause.NO_DEVICE), (errno.ENODEV, SerialCause.NO_DEVICE),
    (errno.EBUSY, SerialCause.BUSY), (errno.EWOULDBLOCK, SerialCause.BUSY),
    (errno.EIO, SerialCause.OTHER)])
def test_the_classifier_maps_errno_to_a_cause(code: int, cause: SerialCause) -> None:
    assert classify_serial_error(OSError(code, os.strerror(code))) is cause
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = OSError(code, os.strerror(code))
    assert classify_serial_error(wrapped) is cause
    assert classify_serial_error(None, timed_out=True) is SerialCause.NO_ANSWER


def test_no_device_names_the_port_and_the_config_key(tmp_path: Path) -> None:
    port = str(tmp_path / "ttyUSB7")
    meter = SunSpecModbusMeter("pv1", port, timeout_s=0.2, config_path=CONF)
    with pytest.raises(MeterError) as e:
        meter.read()
    assert (f"no device at {port}: check [[meters]] port in {CONF} and "
            "`ls /dev/serial/by-id/`") in str(e.value)
    assert "plugged in" not in str(e.value)


def test_permission_denied_says_dialout(inverter: PtyInverter) -> None:
    if os.geteuid() == 0:  # root opens anything: a child drops to nobody before it opens
        os.chmod(inverter.port, 0o600)
        child = (
            "import os\n"
            "from agent.errors import MeterError\n"
            "from agent.meters.sunspec import SunSpecModbusMeter\n"
            "import serial.serialposix\n"
            # the messages' catalogues load on first use: load them before the interpreter's
            # own files (under /root with pyenv) are out of nobody's reach
            "from eco_protocol.messages import entry\n"
            "entry('agent.serial.permission')\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            f"m = SunSpecModbusMeter('pv1', {inverter.port!r}, timeout_s=0.2, "
            f"config_path={CONF!r})\n"
            "try:\n    m.read()\nexcept MeterError as e:\n    print(e)\n")
        r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                           cwd=ROOT, timeout=30, check=False)
        message = r.stdout
    else:
        os.chmod(inverter.port, 0)
        meter = SunSpecModbusMeter("pv1", inverter.port, timeout_s=0.2, config_path=CONF)
        with pytest.raises(MeterError) as e:
            meter.read()
        message = str(e.value)
    assert (f"permission denied on {inverter.port}: add the agent's user to the dialout group "
            "(sudo usermod -aG dialout eco-agent; log in again / restart the unit)") in message


def test_busy_names_the_other_program(inverter: PtyInverter) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import serial, time; "
         f"p = serial.Serial({inverter.port!r}, exclusive=True); print('held', flush=True); "
         "time.sleep(30)"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(MeterError) as e:
            SunSpecModbusMeter("pv1", inverter.port, timeout_s=0.2, config_path=CONF).read()
    finally:
        holder.kill()
        holder.wait()
    assert (f"another program holds {inverter.port} (ModemManager? another agent?)"
            in str(e.value))


def test_a_meter_at_another_baud_rate_does_not_answer(inverter: PtyInverter) -> None:
    wrong = SunSpecModbusMeter("pv1", inverter.port, baudrate=9600, timeout_s=0.2,
                               config_path=CONF)
    with pytest.raises(MeterError) as e:
        wrong.read()
    wrong.close()
    assert (f"the meter did not answer at 9600 baud on {inverter.port}: check [[meters]] "
            f"baudrate/address in {CONF} and the wiring (A/B swapped?)") in str(e.value)
    assert inverter.stats.wrong_baud >= 1 and inverter.stats.answered == 0
    right = SunSpecModbusMeter("pv1", inverter.port, baudrate=19200, timeout_s=0.5)
    try:
        assert right.read().identity.serial == "SN-HOUR-1"  # the same meter at its own speed
    finally:
        right.close()


def test_line_baud_must_be_a_standard_rate() -> None:
    with pytest.raises(ValueError, match="line_baud 9601"):
        Faults(line_baud=9601)


# --- the device key ---------------------------------------------------------------------------


def test_a_fresh_box_is_told_to_run_keygen(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1,
                        meters=[{"id": "pv1", "quantity": "pv_generation", "port": "/dev/x"}])
    code, _, err = _run_cli(capsys, "status", str(conf))
    assert code == 2 and f"run 'eco-agent keygen {conf}' first" in err


def test_a_lost_key_on_an_enrolled_box_says_restore_or_rekey(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = make_rig(tmp_path, port=free_port())
    rig.cycle(2)
    device_id = rig.device_id
    rig.agent.shutdown()
    key = rig.config.device.key_path
    key.unlink()
    conf = str(rig.config.path)
    code, _, err = _run_cli(capsys, "status", conf)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "configuration error" not in err  # the config is right; the key file is gone
    assert f"Restore {key} from your backup" in err
    assert f"'eco-aggregator rekey {device_id} --public-key NEW'" in err
    assert "2 readings signed" in err and "first" not in err
    # keygen does not mint a new identity behind the installer's back
    code, _, err = _run_cli(capsys, "keygen", conf)
    assert code == 1 and "Restore" in err and not key.exists()
    code, out, _ = _run_cli(capsys, "keygen", "--new-identity", conf)
    assert code == 0 and json.loads(out)["device_id"] != device_id


# --- TLS files and the broker -------------------------------------------------------------------


def _tls_conf(tmp_path: Path, ca: str, port: int = 8883, host: str = "127.0.0.1") -> Path:
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1,
                        meters=[{"id": "pv1", "quantity": "pv_generation", "port": "/dev/x"}])
    text = conf.read_text().replace('broker = "mqtt://127.0.0.1:1"',
                                    f'broker = "mqtts://{host}:{port}"\nca_file = "{ca}"')
    conf.write_text(text)
    _run_cli_quiet(["keygen", str(conf)])
    return conf


def _run_cli_quiet(argv: list[str]) -> int:
    return main(argv)


@pytest.mark.parametrize("kind", ["missing", "directory", "not-pem"])
def test_an_unusable_ca_file_names_the_path_and_the_key(
        tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    ca = tmp_path / "ca.crt"
    if kind == "directory":
        ca.mkdir()
    elif kind == "not-pem":
        ca.write_text("this is not a certificate\n")
    conf = _tls_conf(tmp_path, str(ca))
    capsys.readouterr()
    code, _, err = _run_cli(capsys, "run", str(conf))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"[uplink] ca_file = {ca}: " in err
    assert {"missing": "no such file", "directory": "it is a directory",
            "not-pem": "not a PEM"}[kind] in err


def _uplink_error(conf: Path) -> str:
    config = load_config(conf)
    from agent.runner import load_device_key
    from eco_protocol.keys import device_id_of, public_key_raw

    device_id = device_id_of(public_key_raw(load_device_key(config)))
    config.device.state_dir.mkdir(parents=True, exist_ok=True)
    with Outbox.open(config.device.outbox_path, device_id) as box:
        up = Uplink(device_id=device_id, config=config.uplink, outbox=box,
                    log_key=config.device.log_verifier())
        up.start()
        try:
            assert wait_for(lambda: up.status().last_error is not None, timeout=20,
                            pump=lambda: up.pump(0.05))
            return up.status().last_error or ""
        finally:
            up.stop()


def test_a_closed_port_is_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=port,
                        meters=[{"id": "pv1", "quantity": "pv_generation", "port": "/dev/x"}])
    _run_cli_quiet(["keygen", str(conf)])
    error = _uplink_error(conf)
    assert error.startswith(f"cannot reach the broker at mqtt://127.0.0.1:{port}: "
                            "connection refused; nothing listens on that port")


def test_an_unknown_host_is_name_not_resolved(tmp_path: Path) -> None:
    ca, _ = _self_signed(tmp_path, "municipality-ca")
    conf = _tls_conf(tmp_path, str(ca), host="broker.eco-test.invalid")  # .invalid: RFC 6761
    error = _uplink_error(conf)
    assert error.startswith("cannot reach the broker at mqtts://broker.eco-test.invalid:8883: "
                            "name not resolved")


def _self_signed(tmp_path: Path, name: str,
                 valid_from: dt.datetime | None = None) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = valid_from or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    crt, pem = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def _error_against_tls_server(tmp_path: Path, server: tuple[Path, Path], ca: Path) -> tuple[
        int, str]:
    """The uplink's last_error against a TLS server on loopback presenting ``server``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*server)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        return port, _uplink_error(_tls_conf(tmp_path, str(ca), port=port))
    finally:
        stop.set()
        t.join(5)
        listener.close()


def test_a_certificate_not_signed_by_ca_file_is_said_so(tmp_path: Path) -> None:
    other_ca, _ = _self_signed(tmp_path, "municipality-ca")
    port, error = _error_against_tls_server(tmp_path, _self_signed(tmp_path, "rogue-broker"),
                                            other_ca)
    assert error.startswith(f"cannot reach the broker at mqtts://127.0.0.1:{port}: TLS "
                            "handshake failed: certificate not signed by ca_file; the "
                            f"broker's certificate is not signed by {other_ca}")


def test_a_clock_in_the_past_is_said_so(tmp_path: Path) -> None:
    """What a Pi without RTC sees: the certificate starts after the box's idea of now."""
    server = _self_signed(tmp_path, "broker", dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    port, error = _error_against_tls_server(tmp_path, server, server[0])
    assert error.startswith(f"cannot reach the broker at mqtts://127.0.0.1:{port}: TLS "
                            "handshake failed: the broker's certificate is not yet valid; the "
                            "box's clock is probably behind")


def test_connect_errors_map_to_causes() -> None:
    assert classify_connect_error(ConnectionRefusedError()) is BrokerCause.REFUSED
    assert classify_connect_error(socket.gaierror(-2, "Name or service not known")) \
        is BrokerCause.NAME
    assert classify_connect_error(TimeoutError()) is BrokerCause.TIMEOUT
    assert classify_connect_error(ssl.SSLCertVerificationError()) is BrokerCause.TLS_UNTRUSTED
    assert classify_connect_error(OSError(errno.ENETUNREACH, "unreachable")) \
        is BrokerCause.UNREACHABLE
    for code, cause in ((9, BrokerCause.TLS_NOT_YET_VALID), (10, BrokerCause.TLS_EXPIRED),
                        (62, BrokerCause.TLS_HOSTNAME), (20, BrokerCause.TLS_UNTRUSTED)):
        e = ssl.SSLCertVerificationError()
        e.verify_code = code
        assert classify_connect_error(e) is cause
    assert "wait for NTP" in broker_advice(BrokerCause.TLS_NOT_YET_VALID, None,
                                           url="mqtts://b:8883", ca_file=Path("/etc/ca.crt"))


# --- eco-agent status ---------------------------------------------------------------------------


def test_status_is_verdicts_first_in_local_time_and_json_unchanged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        rig = make_rig(tmp_path, port=free_port())
        rig.cycle(3)
        rig.agent.shutdown()
        conf = str(rig.config.path)
        code, out, _ = _run_cli(capsys, "status", conf)
        assert code == 0
        lines = out.splitlines()
        # the meter's last interval ended at T0 + 3 × 30 min, long before the real now
        assert lines[0] == ("reading pv1: LATE (last interval ended 2026-11-22 10:30:00 JST, "
                            f"{lines[0].rsplit(', ', 1)[1]}")
        assert lines[1].startswith("delivering: BEHIND (3 waiting, oldest ")
        assert lines[2] == "receipts: none yet — NOT CURRENT"
        assert lines[3].startswith("clock: ")
        assert any(ln.startswith(f"device {rig.device_id}  (now ") and ln.endswith("JST)")
                   for ln in lines)
        assert "{" not in out  # no JSON, no epoch seconds
        code, out, _ = _run_cli(capsys, "status", "--json", conf)
        report = json.loads(out)
        assert code == 0 and report["pending"] == 3 and report["next_seq"] == 4
        assert isinstance(report["meters"][0]["last_committed"]["said_t"], int)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_render_status_says_ok_when_all_is_well() -> None:
    now = dt.datetime(2026, 12, 4, 3, 0, 10, tzinfo=dt.UTC)
    report = {"device_id": "d" * 32, "next_seq": 9, "pending": 0, "rejected": [],
              "non_creditable": {"total": 0, "recent": []}, "outbox": "/var/lib/x",
              "last_receipt": {"at": "2026-12-04T02:30:05Z", "accepted": 1},
              "clock": {"now": "2026-12-04T03:00:10Z", "known_unsynced": False},
              "meters": [{"id": "pv1", "quantity": "pv_generation",
                          "protocol": "sunspec-modbus",
                          "last_committed": {"said_t": int(now.timestamp()) - 10,
                                             "last_wh": 123}}]}
    text = render_status(report, now=now, interval_s=1800, oldest_pending=None, tz=JST)
    lines = text.splitlines()
    assert lines[:4] == [
        "reading pv1: ok (last interval ended 2026-12-04 12:00:00 JST, 10 s ago)",
        "delivering: ok (nothing waiting)",
        "receipts: current (last 2026-12-04 11:30:05 JST)",
        "clock: synchronised (or not known to be unsynchronised)"]
    assert "meter pv1: pv_generation via sunspec-modbus, register 123 Wh" in lines
    unsynced = render_status({**report, "clock": {"known_unsynced": True}}, now=now,
                             interval_s=1800, oldest_pending=None, tz=JST)
    assert "clock: NOT synchronised" in unsynced


# --- eco-agent probe -----------------------------------------------------------------------------


def test_zero_watts_is_explained_not_a_fault() -> None:
    assert power_text(0, sun_up=False, quantity="pv_generation") == \
        "0 W (no sun / inverter idle)"
    assert power_text(0, sun_up=None, quantity="pv_generation") == \
        "0 W (no sun / inverter idle)"
    assert "a fault only if it stays at 0 W in full sun" in power_text(
        0, sun_up=True, quantity="pv_generation")
    assert power_text(3278, sun_up=True, quantity="pv_generation") == "3278 W"
    assert power_text(None, sun_up=True, quantity="grid_import") == "not reported by the meter"


def test_probe_at_night_explains_zero_watts(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    night = ManualClock(dt.datetime(2024, 5, 14, 1, 0, tzinfo=JST))
    with PtyInverter(4500, 7, night, serial="SN-NIGHT") as inv:
        code, out, err = _run_cli(capsys, "probe", "--protocol", "sunspec-modbus", "--port",
                                 inv.port)
    assert code == 0, err
    report = json.loads(out)
    assert report["power_w"] == 0 and report["power"].startswith("0 W (")
    assert "idle" in report["power"]
    assert not {"meter_model", "meter_serial"} & set(report)
    assert report["model"] and report["serial"] == "SN-NIGHT"


def test_missing_ca_file_through_build_agent_is_a_config_error(tmp_path: Path) -> None:
    conf = _tls_conf(tmp_path, str(tmp_path / "nope.crt"))
    from agent.runner import build_agent

    with pytest.raises(ConfigError, match=r"\[uplink\] ca_file = .*nope.crt: no such file"):
        build_agent(load_config(conf))


def test_probe_of_an_mqtt_meter_names_the_missing_ca_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ca = tmp_path / "ca.crt"
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1,
                        meters=[{"id": "ev1", "quantity": "ev_charge", "protocol": "openevse",
                                 "topic": "openevse-1"}])
    conf.write_text(conf.read_text().replace('broker = "mqtt://127.0.0.1:1"',
                                             f'broker = "mqtts://127.0.0.1:8883"\n'
                                             f'ca_file = "{ca}"'))
    code, _, err = _run_cli(capsys, "probe", str(conf), "ev1", "--wait", "1")
    assert code == 2 and f"[uplink] ca_file = {ca}: no such file" in err
    assert len(err.strip().splitlines()) == 1
