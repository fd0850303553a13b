"""``eco-agent``: the command line of the device agent (composition root).

    eco-agent init CONFIG               write a commented example config (never overwrites)
    eco-agent keygen CONFIG             create the device key (0600) if absent; print id and key
    eco-agent run CONFIG                the service: poll, sign, deliver until receipted
    eco-agent status CONFIG             JSON: device id, next seq, pending, rejected, last receipt
    eco-agent probe CONFIG METER_ID     read one meter once and print what it says

Errors are one line on stderr saying what is wrong and what to do; exit status 2 for
configuration errors, 1 for anything else that went wrong at run time.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from eco_protocol.encoding import b64encode
from eco_protocol.errors import EnvironmentProblem, ProtocolError
from eco_protocol.keyfile import load_or_create_private_key
from eco_protocol.keys import device_id_of, public_key_raw

from .config import AgentConfig, example_config, load_config
from .errors import AgentError, ConfigError, MeterError

log = logging.getLogger(__name__)


class _Fatal(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _fatal(message: str, status: int = 1) -> NoReturn:
    raise _Fatal(message, status)


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False))


def cmd_init(args: argparse.Namespace) -> int:
    path: Path = args.config
    if path.exists():
        _fatal(f"{path} already exists; not overwriting it. Edit it, or choose another path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(example_config())
    except FileExistsError:
        _fatal(f"{path} already exists; not overwriting it")
    except OSError as e:
        _fatal(f"cannot write {path}: {e.strerror}")
    print(f"wrote {path}; edit [device] state_dir, log_key and [[meters]], then run "
          f"'eco-agent keygen {path}'", file=sys.stderr)
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        key, created = load_or_create_private_key(config.device.key_path)
    except EnvironmentProblem as e:
        _fatal(str(e))
    except OSError as e:
        _fatal(f"cannot create {config.device.key_path}: {e.strerror}; check that "
               f"{config.device.state_dir} is writable")
    raw = public_key_raw(key)
    _print_json({"device_id": device_id_of(raw), "public_key": b64encode(raw),
                 "key_file": str(config.device.key_path), "created": created})
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import build_agent

    config = load_config(args.config)
    agent = build_agent(config, accept_new_log_key=args.accept_new_log_key)
    return agent.run()


def status_report(config: AgentConfig) -> dict[str, Any]:
    """What ``eco-agent status`` prints; opens the outbox read-only (the agent may be running)."""
    from eco_protocol.canonical import parse_json

    from .outbox import Outbox
    from .runner import load_device_key

    key = load_device_key(config)
    device_id = device_id_of(public_key_raw(key))
    report: dict[str, Any] = {"device_id": device_id, "next_seq": 1, "pending": 0,
                              "rejected": [], "last_receipt": None,
                              "outbox": str(config.device.outbox_path)}
    if not config.device.outbox_path.exists():
        return report
    with Outbox.open(config.device.outbox_path, device_id, readonly=True) as box:
        counts = box.counts()
        report["next_seq"] = counts.next_seq
        report["pending"] = counts.pending
        report["last_receipt"] = box.last_receipt()
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
    return report


def cmd_status(args: argparse.Namespace) -> int:
    _print_json(status_report(load_config(args.config)))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from .runner import open_meter

    config = load_config(args.config)
    mc = config.meter(args.meter_id)
    meter = open_meter(mc)
    try:
        snap = meter.read()
    except MeterError as e:
        _fatal(f"{e}")
    finally:
        meter.close()
    _print_json({"meter_id": mc.id, "quantity": mc.quantity.value,
                 "protocol": snap.identity.protocol,
                 "manufacturer": snap.identity.manufacturer, "model": snap.identity.model,
                 "serial": snap.identity.serial, "register_wh": snap.register_wh,
                 "power_w": snap.power_w, "wrap_wh": snap.wrap_wh, "port": mc.port})
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eco-agent",
                                description="Reads meters, signs interval readings and delivers "
                                            "them to the municipality's aggregator.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("init", help="write a commented example config (never overwrites)")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("keygen", help="create the device key if absent; print id and public key")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.set_defaults(func=cmd_keygen)
    s = sub.add_parser("run", help="run the agent (the systemd service)")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.add_argument("--accept-new-log-key", action="store_true",
                   help="accept a log_key different from the one pinned earlier")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("status", help="print outbox status as JSON")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("probe", help="read one meter once and print it as JSON")
    s.add_argument("config", type=Path, metavar="CONFIG")
    s.add_argument("meter_id", metavar="METER_ID")
    s.set_defaults(func=cmd_probe)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if not args.verbose:  # APScheduler logs every job run at INFO
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        status: int = args.func(args)
        return status
    except _Fatal as e:
        print(f"eco-agent: {e}", file=sys.stderr)
        return e.status
    except ConfigError as e:
        print(f"eco-agent: configuration error: {e}", file=sys.stderr)
        return 2
    except (AgentError, ProtocolError) as e:
        print(f"eco-agent: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        print(f"eco-agent: {e.strerror or e}{where}: check the path and its permissions",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
