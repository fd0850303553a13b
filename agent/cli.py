"""``eco-agent``: the command line of the device agent (composition root).

    eco-agent init CONFIG               write a commented example config (never overwrites)
    eco-agent provision [--force] CONFIG [SNIPPET|-]
                                        set the log key and broker login from the enrolment
                                        page's snippet (a file, or stdin: a QR scan's text)
    eco-agent keygen [--new-identity] CONFIG
                                        create the device key (0600) if absent; print id and
                                        key (refused on a box that signed with a lost key)
    eco-agent run CONFIG                the service: poll, sign, deliver until receipted
    eco-agent status [--json] CONFIG    verdicts (reading, delivering, receipts, clock) in
                                        local time, then details; --json: device id, next
                                        seq, pending, rejected, not creditable, last receipt
    eco-agent probe CONFIG METER_ID     read one meter once and print what it says
    eco-agent probe --protocol tasmota|shelly|openevse --broker mqtt://HOST:PORT --topic T
                    --quantity Q [--channel N] [--field F] [--wait S]
                                        the same for an MQTT device, without a config
    eco-agent probe --protocol echonet-broute --port PORT --broute-id ID
                    (--broute-password PW | --broute-password-file FILE)
                    --quantity grid_import|grid_export [--family F] [--echonet-object O]
    eco-agent probe --protocol sunspec-modbus --port PORT [--unit N] [--baudrate B]
                                        the same for a serial device, without a config

Errors are one line on stderr saying what is wrong and what to do; exit status 2 for
configuration errors, 1 for anything else that went wrong at run time.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from eco_protocol.encoding import JST, b64encode, format_time
from eco_protocol.errors import EnvironmentProblem, ProtocolError
from eco_protocol.keyfile import load_or_create_private_key
from eco_protocol.keys import device_id_of, public_key_raw
from eco_protocol.messages import Msg, add_lang_option, choose_lang, msg, render, text
from eco_protocol.os_messages import os_reason
from eco_runtime.stderr_log import log_to_stderr

from .config import AgentConfig, MeterConfig, example_config, load_config
from .diagnose import missing_key_message, power_text, render_status
from .errors import AgentError, ConfigError, MeterError
from .meters.interface import Meter

if TYPE_CHECKING:
    from .outbox import Outbox

log = logging.getLogger(__name__)


class _Fatal(Exception):
    def __init__(self, message: Msg, status: int) -> None:
        super().__init__(message.text())
        self.message = message
        self.status = status


def _fatal(message: Msg, status: int = 1) -> NoReturn:
    raise _Fatal(message, status)


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False))


def cmd_init(args: argparse.Namespace) -> int:
    path: Path = args.config
    if path.exists():
        _fatal(msg("agent.init.exists", path=path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(example_config())
    except FileExistsError:
        _fatal(msg("agent.init.exists", path=path))
    except OSError as e:
        _fatal(msg("agent.init.cannot_write", path=path, reason=os_reason(e)))
    print(text("agent.init.wrote", args.lang, path=path), file=sys.stderr)
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from .provision import MAX_SNIPPET_BYTES, next_steps, provision

    source: str | None = args.snippet
    try:
        if source in (None, "-"):
            if sys.stdin.isatty():
                print(text("agent.provision.paste", args.lang), file=sys.stderr)
            snippet = sys.stdin.read(MAX_SNIPPET_BYTES + 1)
        else:
            snippet = Path(source).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        _fatal(msg("agent.provision.cannot_read", path=source, reason=os_reason(e)))
    done = provision(args.config, snippet, force=args.force)
    print(next_steps(done, args.lang), file=sys.stderr)
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.device.key_path.exists() and not args.new_identity:
        from .runner import past_life

        past = past_life(config)
        if past.evidence is not None:  # a lost key on an enrolled box: a new one is a new device
            _fatal(missing_key_message(config.device.key_path, config.path, past))
    try:
        key, created = load_or_create_private_key(config.device.key_path)
    except EnvironmentProblem as e:
        _fatal(msg("agent.cli.message", message=e))
    except OSError as e:
        _fatal(msg("agent.keygen.cannot_create", path=config.device.key_path,
                   reason=os_reason(e), state_dir=config.device.state_dir))
    raw = public_key_raw(key)
    from eco_protocol.did import did_key  # the running agent never needs it

    _print_json({"device_id": device_id_of(raw), "did": did_key(raw),
                 "public_key": b64encode(raw), "key_file": str(config.device.key_path),
                 "created": created})
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import build_agent

    # A stop request that arrives while the agent is still opening its outbox and meters must
    # not kill it by the default action mid-open: remember it, finish opening, stop cleanly.
    early = threading.Event()

    def on_early_signal(_signum: int, _frame: FrameType | None) -> None:
        early.set()

    signal.signal(signal.SIGTERM, on_early_signal)
    signal.signal(signal.SIGINT, on_early_signal)
    config = load_config(args.config)
    agent = build_agent(config, accept_new_log_key=args.accept_new_log_key)
    if early.is_set():
        agent.shutdown()
        return 0
    return agent.run(stop_requested=early)


def status_report(config: AgentConfig) -> dict[str, Any]:
    """What ``eco-agent status --json`` prints; opens the outbox read-only (the agent may be
    running)."""
    return _status(config)[0]


def _status(config: AgentConfig) -> tuple[dict[str, Any], datetime | None]:
    """:func:`status_report`, and the end of the oldest reading still waiting for a receipt
    (for the human-readable status), from one opening of the outbox."""
    from eco_protocol.canonical import parse_json

    from .outbox import Outbox
    from .runner import load_device_key

    key = load_device_key(config)
    device_id = device_id_of(public_key_raw(key))
    from eco_protocol.encoding import day_of

    from .runner import clock_from_config, clock_known_unsynced

    clock = clock_from_config(config)
    now = clock.timestamp()
    timesync = config.clock.timesync_dir
    report: dict[str, Any] = {
        "device_id": device_id, "next_seq": 1, "pending": 0, "rejected": [],
        # delivered, in the ledger, but earning nothing (docs/protocol.md v1.1 §3): total and the
        # newest kept by the outbox, newest first, each with the aggregator's reason
        "non_creditable": {"total": 0, "recent": []},
        "last_receipt": None, "outbox": str(config.device.outbox_path),
        "clock": {"now": format_time(clock.now().replace(microsecond=0)),
                  "known_unsynced": clock_known_unsynced(now, timesync.is_dir(),
                                                         (timesync / "synchronized").exists())},
        "meters": [{"id": m.id, "quantity": m.quantity.value, "protocol": m.protocol.value}
                   for m in config.meters],
    }
    if not config.device.outbox_path.exists():
        return report, None
    with Outbox.open(config.device.outbox_path, device_id, readonly=True) as box:
        oldest = _oldest_pending(box)
        states = box.meter_states()
        today = day_of(clock.now())
        tally = box.day_tally().get(today, {"energy_wh": {}, "co2_g_estimate": 0})
        # the device's own display estimate; the municipality's figure follows its methodology
        report["today"] = {"day": today, **tally,
                           "points_estimate": tally["co2_g_estimate"] // 1000}
        for m in report["meters"]:
            # the last interval boundary committed for the meter and its register there
            m["last_committed"] = states.get(m["id"])
        counts = box.counts()
        report["next_seq"] = counts.next_seq
        report["pending"] = counts.pending
        report["last_receipt"] = box.last_receipt()
        total, recent = box.non_creditable()
        report["non_creditable"] = {"total": total, "recent": [n.to_dict() for n in recent]}
        for r in box.rejected(limit=1000):
            entry: dict[str, Any] = {"seq": r.seq, "reason": r.reason,
                                     "reading_sha256": r.sha256}
            try:
                body = parse_json(r.body)
                entry.update({"meter": body.get("meter"), "start": body.get("start"),
                              "end": body.get("end"), "energy_wh": body.get("energy_wh")})
            except ProtocolError:
                pass
            report["rejected"].append(entry)
    return report, oldest


def _oldest_pending(box: Outbox) -> datetime | None:
    """The end of the oldest reading still waiting for a receipt."""
    from eco_protocol.canonical import parse_json

    from .diagnose import parse_utc

    rows = box.pending(1)
    if not rows:
        return None
    try:
        end = parse_json(rows[0].body).get("end")
    except ProtocolError:
        return None
    return parse_utc(end) if isinstance(end, str) else None


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.json:
        _print_json(status_report(config))
        return 0
    from .diagnose import parse_utc

    report, oldest = _status(config)
    now = parse_utc(report["clock"]["now"]) or datetime.now(UTC)
    print(render_status(report, now=now, interval_s=config.device.interval_seconds,
                        oldest_pending=oldest, tz=JST, lang=args.lang))
    return 0


def _probe_mqtt(args: argparse.Namespace) -> int:
    """``probe --protocol tasmota|shelly|openevse --broker URL --topic T --quantity Q``."""
    from eco_protocol.records import Quantity

    from .config import MeterProtocol
    from .meters.mqtt_meter import probe_without_config

    missing = [opt for opt, v in (("--broker", args.broker), ("--topic", args.topic),
                                  ("--quantity", args.quantity)) if v is None]
    if missing:
        _fatal(msg("agent.probe.needs", protocol=args.protocol, missing=missing), 2)
    try:
        report = probe_without_config(MeterProtocol(args.protocol), args.broker, args.topic,
                                      Quantity(args.quantity), channel=args.channel,
                                      field_name=args.field, wait_s=args.wait)
    except ValueError as e:
        _fatal(msg("agent.probe.error", error=str(e)), 2)
    except MeterError as e:
        _fatal(msg("agent.cli.message", message=e))
    _print_json(report)
    return 0


def _read_and_report(mc: MeterConfig, meter: Meter, lang: str) -> int:
    """Read a serial meter once; print the snapshot and the raw values it came from (JSON; the
    ``power`` sentence in the reader's language)."""
    try:
        snap = meter.read()
        read_at = format_time(datetime.now(UTC))
    except MeterError as e:
        _fatal(msg("agent.cli.message", message=e))
    finally:
        meter.close()
    _print_json({"meter_id": mc.id, "quantity": mc.quantity.value,
                 "protocol": snap.identity.protocol,
                 "manufacturer": snap.identity.manufacturer, "model": snap.identity.model,
                 "serial": snap.identity.serial, "register_wh": snap.register_wh,
                 "power_w": snap.power_w,
                 "power": power_text(snap.power_w, sun_up=_sun_up(datetime.now(UTC)),
                                     quantity=mc.quantity.value, lang=lang),
                 "wrap_wh": snap.wrap_wh, "port": mc.port,
                 "read_at": read_at, "raw": dict(snap.raw)})
    return 0


def _sun_up(now: datetime) -> bool | None:
    """Whether the sun is up in Japan now (the programme's region; civil dawn to dusk at about
    35° N, wide enough for every season), None when it is twilight."""
    hour = now.astimezone(JST).hour
    if 8 <= hour < 16:
        return True
    if hour >= 20 or hour < 4:
        return False
    return None


def _probe_sunspec(args: argparse.Namespace) -> MeterConfig:
    """``probe --protocol sunspec-modbus --port PORT [--unit N] [--baudrate B]``."""
    from eco_protocol.records import Quantity

    from .config import MeterProtocol

    if not 1 <= args.unit <= 247:
        _fatal(msg("agent.probe.unit"), 2)
    return MeterConfig(id="probe", quantity=Quantity(args.quantity or "pv_generation"),
                       protocol=MeterProtocol.SUNSPEC_MODBUS, port=args.port, unit=args.unit,
                       baudrate=args.baudrate or 9600, timeout_s=args.timeout or 1.0)


def _probe_broute(args: argparse.Namespace) -> MeterConfig:
    """``probe --protocol echonet-broute --port PORT --broute-id ID --broute-password PW
    --quantity grid_import|grid_export``: validated like a [[meters]] table."""
    from .config import parse_config

    table: dict[str, Any] = {"id": "probe", "protocol": "echonet-broute", "port": args.port,
                             "quantity": args.quantity, "broute_id": args.broute_id,
                             "broute_password": args.broute_password,
                             "broute_password_file": args.broute_password_file,
                             "family": args.family, "echonet_object": args.echonet_object,
                             "baudrate": args.baudrate, "timeout_s": args.timeout}
    doc = {"device": {"state_dir": "."},
           "meters": [{k: v for k, v in table.items() if v is not None}]}
    try:
        return parse_config(doc).meters[0]
    except ConfigError as e:  # the table is the command line's: no "[[meters]] id='probe'"
        _fatal(msg("agent.probe.error",
                   error=render(e, args.lang).replace("[[meters]] id=" + repr("probe") + " ", "")),
               2)


def _probe_serial(args: argparse.Namespace) -> int:
    """``probe --protocol P --port PORT …`` for a device on a serial port, without a config;
    one small builder per protocol."""
    from .config import MeterProtocol
    from .runner import open_meter

    builders = {MeterProtocol.SUNSPEC_MODBUS: _probe_sunspec,
                MeterProtocol.ECHONET_BROUTE: _probe_broute}
    protocol = MeterProtocol(args.protocol)
    build = builders.get(protocol)
    if build is None:
        _fatal(msg("agent.probe.needs_config", protocol=args.protocol), 2)
    if not args.port:
        _fatal(msg("agent.probe.needs_port", protocol=args.protocol), 2)
    mc = build(args)
    return _read_and_report(mc, open_meter(mc), args.lang)


def cmd_probe(args: argparse.Namespace) -> int:
    from .config import MQTT_METER_PROTOCOLS, MeterProtocol
    from .runner import open_meter

    if args.protocol is not None:
        if MeterProtocol(args.protocol) in MQTT_METER_PROTOCOLS:
            return _probe_mqtt(args)
        return _probe_serial(args)
    if args.config is None or args.meter_id is None:
        _fatal(msg("agent.probe.usage"), 2)
    config = load_config(args.config)
    mc = config.meter(args.meter_id)
    meter = open_meter(mc)
    if mc.protocol in MQTT_METER_PROTOCOLS:
        from .meters.mqtt_meter import MqttMeter, probe_report

        assert isinstance(meter, MqttMeter)
        try:
            _print_json(probe_report(meter, mc.quantity, args.wait, mc.id))
        except MeterError as e:
            _fatal(msg("agent.cli.message", message=e))
        finally:
            meter.close()
        return 0
    return _read_and_report(mc, meter, args.lang)


def _protocols() -> list[str]:
    from .config import MeterProtocol

    return [p.value for p in MeterProtocol]


def _quantities() -> list[str]:
    from eco_protocol.records import Quantity

    return [q.value for q in Quantity]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eco-agent",
                                description="Reads meters, signs interval readings and delivers "
                                            "them to the municipality's aggregator.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("init", help="write a commented example config (never overwrites)")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("provision", help="set the log key and broker login from the "
                                         "enrolment page's snippet (file or stdin)")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.add_argument("snippet", nargs="?", metavar="SNIPPET",
                   help="the snippet's file; '-' or none: read it from stdin")
    s.add_argument("--force", action="store_true",
                   help="replace a different log_key already in CONFIG (after a log-key "
                        "rotation)")
    s.set_defaults(func=cmd_provision)
    s = sub.add_parser("keygen", help="create the device key if absent; print id and public key")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.add_argument("--new-identity", action="store_true",
                   help="create a key although this box already signed readings with a lost "
                        "one (for a rekey by the municipality)")
    s.set_defaults(func=cmd_keygen)
    s = sub.add_parser("run", help="run the agent (the systemd service)")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.add_argument("--accept-new-log-key", action="store_true",
                   help="accept a log_key different from the one pinned earlier")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("status", help="is it reading, delivering, receipted, on time?")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.add_argument("--json", action="store_true", help="the full report as JSON (for scripts)")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("probe", help="read one meter once and print it as JSON")
    s.add_argument("config", type=Path, metavar="CONFIG", nargs="?")
    s.add_argument("meter_id", metavar="METER_ID", nargs="?")
    s.add_argument("--protocol", choices=_protocols(), help="probe a device without a config")
    s.add_argument("--broker", metavar="URL", help="MQTT devices: mqtt://HOST:PORT")
    s.add_argument("--topic", help="MQTT devices: Tasmota topic, Shelly prefix, OpenEVSE base")
    s.add_argument("--quantity", choices=_quantities())
    s.add_argument("--channel", type=int, help="Tasmota channel index / Shelly component id")
    s.add_argument("--field", help="MQTT devices: the counter, e.g. ExportActive, total_act_ret")
    s.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="MQTT devices: how long to wait for the device to publish (default 60)")
    s.add_argument("--port", help="serial devices: /dev/ttyUSB0, /dev/serial/by-id/…")
    s.add_argument("--unit", type=int, default=1, help="sunspec-modbus: Modbus unit id")
    s.add_argument("--baudrate", type=int, help="serial devices: line speed (default 9600 for "
                   "sunspec-modbus, 115200 for echonet-broute)")
    s.add_argument("--timeout", type=float, metavar="SECONDS", help="serial devices: answer "
                   "timeout")
    s.add_argument("--broute-id", help="echonet-broute: the 32-character B-route ID")
    s.add_argument("--broute-password", help="echonet-broute: the B-route password (visible "
                   "to other users in ps; prefer --broute-password-file)")
    s.add_argument("--broute-password-file", metavar="FILE",
                   help="echonet-broute: a file holding the B-route password")
    s.add_argument("--family", choices=("auto", "bp35a1", "bp35c0"),
                   help="echonet-broute: dongle command family (default auto)")
    s.add_argument("--echonet-object", choices=("smart_meter", "solar", "ev"),
                   help="echonet-broute: the ECHONET object to read (default smart_meter)")
    s.set_defaults(func=cmd_probe)
    add_lang_option(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.lang = lang = choose_lang(getattr(args, "lang", None))
    log_to_stderr(logging.DEBUG if args.verbose else logging.INFO)
    if not args.verbose:  # APScheduler logs every job run at INFO
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        status: int = args.func(args)
        return status
    except _Fatal as e:
        print(text("agent.cli.error", lang, message=e.message), file=sys.stderr)
        return e.status
    except ConfigError as e:
        print(text("agent.cli.config_error", lang, message=render(e, lang)), file=sys.stderr)
        return 2
    except (AgentError, ProtocolError) as e:
        print(text("agent.cli.error", lang, message=render(e, lang)), file=sys.stderr)
        return 1
    except OSError as e:
        where = msg("agent.cli.os_where", path=e.filename) if e.filename else ""
        print(text("agent.cli.os_error", lang, reason=os_reason(e), where=where),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
