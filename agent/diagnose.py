"""Pure functions that turn what went wrong into what to do: serial-port errors, broker
connection failures, a missing device key, and the human-readable ``eco-agent status``.

Nothing here does I/O; callers pass the exception, the paths and the facts they found, and get a
cause (an enum, for tests and logs) and a sentence for the installer.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any

# --- serial ports -----------------------------------------------------------------------------


class SerialCause(Enum):
    PERMISSION = "permission denied"
    NO_DEVICE = "no such device"
    BUSY = "port busy"
    NO_ANSWER = "no answer"
    OTHER = "serial error"


_ERRNO_CAUSES: Mapping[int, SerialCause] = {
    errno.EACCES: SerialCause.PERMISSION, errno.EPERM: SerialCause.PERMISSION,
    errno.ENOENT: SerialCause.NO_DEVICE, errno.ENODEV: SerialCause.NO_DEVICE,
    errno.ENXIO: SerialCause.NO_DEVICE, errno.ENOTTY: SerialCause.NO_DEVICE,
    errno.EISDIR: SerialCause.NO_DEVICE,
    errno.EBUSY: SerialCause.BUSY, errno.EAGAIN: SerialCause.BUSY,
    errno.EWOULDBLOCK: SerialCause.BUSY,
}


def _errno_of(exc: BaseException) -> int | None:
    """The errno of ``exc`` or of the exception it was raised from (pyserial wraps OSError in
    SerialException(errno, text) on open, but not everywhere)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "errno", None)
        if isinstance(code, int):
            return code
        seen = seen.__cause__ or seen.__context__
    return None


def classify_serial_error(exc: BaseException | None, *, timed_out: bool = False) -> SerialCause:
    """``exc`` raised while opening or using a serial port (None with ``timed_out``: the port
    opened but the device never answered)."""
    if timed_out:
        return SerialCause.NO_ANSWER
    if exc is None:
        return SerialCause.OTHER
    code = _errno_of(exc)
    if code is not None and code in _ERRNO_CAUSES:
        return _ERRNO_CAUSES[code]
    text = str(exc).lower()
    if "exclusively lock" in text or "busy" in text:
        return SerialCause.BUSY
    if "permission denied" in text:
        return SerialCause.PERMISSION
    if "no such file" in text or "no serial port configured" in text:
        return SerialCause.NO_DEVICE
    return SerialCause.OTHER


def serial_advice(cause: SerialCause, *, port: str, baudrate: int, config: Path | str | None,
                  user: str = "eco-agent") -> str:
    """What the installer does about ``cause``; names the port and the config keys."""
    conf = str(config) if config else "the agent's config"
    match cause:
        case SerialCause.PERMISSION:
            return (f"permission denied on {port}: add the agent's user to the dialout group "
                    f"(sudo usermod -aG dialout {user}; log in again / restart the unit)")
        case SerialCause.NO_DEVICE:
            return (f"no device at {port}: check [[meters]] port in {conf} and "
                    "`ls /dev/serial/by-id/`")
        case SerialCause.BUSY:
            return (f"another program holds {port} (ModemManager? another agent?): "
                    f"find it with `fuser -v {port}` and stop it")
        case SerialCause.NO_ANSWER:
            return (f"the meter did not answer at {baudrate} baud on {port}: check [[meters]] "
                    f"baudrate/address in {conf} and the wiring (A/B swapped?)")
        case SerialCause.OTHER:
            return f"serial port error on {port}: check the cable and [[meters]] port in {conf}"


def serial_error_text(exc: BaseException | None, *, port: str, baudrate: int,
                      config: Path | str | None, timed_out: bool = False) -> str:
    """:func:`serial_advice` for ``exc``; an unclassified error is quoted in front of it."""
    cause = classify_serial_error(exc, timed_out=timed_out)
    advice = serial_advice(cause, port=port, baudrate=baudrate, config=config)
    return advice if cause is not SerialCause.OTHER or exc is None else f"{exc}; {advice}"


# --- the broker ---------------------------------------------------------------------------------


class BrokerCause(Enum):
    REFUSED = "connection refused"
    NAME = "name not resolved"
    TLS_UNTRUSTED = "TLS handshake failed: certificate not signed by ca_file"
    TLS_NOT_YET_VALID = "TLS handshake failed: the broker's certificate is not yet valid"
    TLS_EXPIRED = "TLS handshake failed: the broker's certificate has expired"
    TLS_HOSTNAME = "TLS handshake failed: the certificate is for another host name"
    TLS = "TLS handshake failed"
    TIMEOUT = "timeout"
    UNREACHABLE = "network unreachable"
    OTHER = "connection failed"


def classify_connect_error(exc: BaseException | None) -> BrokerCause:
    if exc is None:
        return BrokerCause.OTHER
    if isinstance(exc, ssl.SSLCertVerificationError):
        # OpenSSL's X509_V_ERR_* codes: 9 not yet valid, 10 expired, 62 host name mismatch
        return {9: BrokerCause.TLS_NOT_YET_VALID, 10: BrokerCause.TLS_EXPIRED,
                62: BrokerCause.TLS_HOSTNAME}.get(getattr(exc, "verify_code", 0),
                                                  BrokerCause.TLS_UNTRUSTED)
    if isinstance(exc, ssl.SSLError):
        return BrokerCause.TLS
    if isinstance(exc, socket.gaierror):
        return BrokerCause.NAME
    if isinstance(exc, ConnectionRefusedError):
        return BrokerCause.REFUSED
    if isinstance(exc, TimeoutError):
        return BrokerCause.TIMEOUT
    if getattr(exc, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return BrokerCause.UNREACHABLE
    return BrokerCause.OTHER


def broker_advice(cause: BrokerCause, exc: BaseException | None, *, url: str,
                  ca_file: Path | None) -> str:
    """``cannot reach the broker at URL: <why>; <what to do>``."""
    what = {
        BrokerCause.REFUSED: "nothing listens on that port: check [uplink] broker "
                             "(host and port) and that the broker runs",
        BrokerCause.NAME: "check the host name in [uplink] broker and the box's DNS",
        BrokerCause.TLS_UNTRUSTED: (f"the broker's certificate is not signed by {ca_file}: "
                                    "check [uplink] ca_file and [uplink] broker"),
        BrokerCause.TLS_NOT_YET_VALID: ("the box's clock is probably behind (a Pi without RTC "
                                        "boots in the past): wait for NTP, check "
                                        "timedatectl"),
        BrokerCause.TLS_EXPIRED: ("check the box's clock (timedatectl); if it is right, the "
                                  "municipality must renew the broker's certificate"),
        BrokerCause.TLS_HOSTNAME: ("[uplink] broker must use the host name the certificate "
                                   "names"),
        BrokerCause.TLS: "check [uplink] tls and ca_file, and that the port speaks TLS",
        BrokerCause.TIMEOUT: "no answer: check the network, a firewall, and [uplink] broker",
        BrokerCause.UNREACHABLE: "check the box's network connection",
        BrokerCause.OTHER: "check [uplink] broker and the network",
    }[cause]
    detail = ""
    if cause is BrokerCause.TLS_UNTRUSTED and ca_file is None:
        what = ("the broker's certificate is not trusted by the system store: set "
                "[uplink] ca_file to the municipality's CA")
    if exc is not None and cause in (BrokerCause.TLS, BrokerCause.OTHER, BrokerCause.NAME):
        detail = f" ({exc})"
    return f"cannot reach the broker at {url}: {cause.value}{detail}; {what}"


def tls_file_problem(key: str, path: Path, exc: BaseException) -> str:
    """A ``[uplink] ca_file`` (or cert_file/key_file) that cannot be used."""
    if isinstance(exc, FileNotFoundError):
        why = "no such file"
    elif isinstance(exc, PermissionError):
        why = "permission denied (the agent's user must be able to read it)"
    elif isinstance(exc, IsADirectoryError):
        why = "it is a directory"
    elif isinstance(exc, ssl.SSLError):
        why = f"not a PEM certificate/key file ({exc.reason or exc})"
    else:
        why = getattr(exc, "strerror", None) or str(exc)
    return f"[uplink] {key} = {path}: {why}; fix the path in the config or restore the file"


# --- the device key -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastLife:
    """What the box's state says about an identity it had (empty: a fresh box)."""

    device_id: str | None = None  # from the outbox's meta table
    readings_signed: int = 0
    evidence: str | None = None  # the file that shows the box ran before


def missing_key_advice(key_path: Path, config: Path | str | None, past: PastLife) -> str:
    conf = str(config) if config else "CONFIG"
    if past.evidence is None:
        return f"no device key at {key_path}: run 'eco-agent keygen {conf}' first"
    who = past.device_id or "OLD_DEVICE_ID"
    signed = f", {past.readings_signed} readings signed" if past.readings_signed else ""
    return (f"no device key at {key_path}, but this box already has an identity "
            f"({past.evidence}{signed}, device {who}). Restore {key_path} from your backup. "
            f"Without a backup, do not mint a new identity silently: ask the municipality for a "
            f"rekey ('eco-aggregator rekey {who} --public-key NEW'), after creating the new "
            f"key with 'eco-agent keygen --new-identity {conf}'")


# --- eco-agent status ------------------------------------------------------------------------


def parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def local(t: datetime | None, tz: tzinfo | None) -> str:
    if t is None:
        return "never"
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days"


def _time_of(value: Any) -> datetime | None:
    if isinstance(value, Mapping):
        for key in ("said_t", "last_t"):  # a meter's committed state: epoch seconds
            if isinstance(value.get(key), int | float):
                return datetime.fromtimestamp(value[key], UTC)
        for key in ("at", "end", "received_at", "time"):
            t = parse_utc(value.get(key)) if isinstance(value.get(key), str) else None
            if t is not None:
                return t
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return parse_utc(value) if isinstance(value, str) else None


def status_verdict(report: Mapping[str, Any], *, now: datetime, interval_s: int,
                   oldest_pending: datetime | None, tz: tzinfo | None) -> list[str]:
    """The first lines of ``eco-agent status``: one verdict per concern."""
    lines: list[str] = []
    meters: Sequence[Mapping[str, Any]] = report.get("meters", [])
    for m in meters:
        last = _time_of(m.get("last_committed"))
        if last is None:
            lines.append(f"reading {m['id']}: NO READING YET")
            continue
        late = (now - last).total_seconds() > 2 * interval_s + 60
        lines.append(f"reading {m['id']}: {'LATE' if late else 'ok'} (last interval ended "
                     f"{local(last, tz)}, {age((now - last).total_seconds())} ago)")
    pending = int(report.get("pending", 0))
    if pending == 0:
        lines.append("delivering: ok (nothing waiting)")
    else:
        oldest = ("" if oldest_pending is None else
                  f", oldest {age((now - oldest_pending).total_seconds())} old")
        stuck = oldest_pending is not None and (now - oldest_pending).total_seconds() > 3600
        lines.append(f"delivering: {'BEHIND' if stuck else 'ok'} ({pending} waiting{oldest})")
    receipt = _time_of(report.get("last_receipt"))
    if receipt is None:
        lines.append("receipts: none yet" + (" — NOT CURRENT" if pending else ""))
    else:
        current = pending == 0 or (now - receipt).total_seconds() <= 2 * interval_s + 300
        lines.append(f"receipts: {'current' if current else 'NOT CURRENT'} (last "
                     f"{local(receipt, tz)})")
    rejected = len(report.get("rejected", []))
    if rejected:
        lines.append(f"rejected: {rejected} reading(s) refused by the aggregator (see below)")
    clock = report.get("clock", {})
    lines.append("clock: NOT synchronised (NTP has not synced since boot)"
                 if clock.get("known_unsynced") else "clock: synchronised (or not known "
                 "to be unsynchronised)")
    return lines


def render_status(report: Mapping[str, Any], *, now: datetime, interval_s: int,
                  oldest_pending: datetime | None, tz: tzinfo | None = None) -> str:
    """``eco-agent status`` for a person: verdicts first, then details, local times."""
    out = status_verdict(report, now=now, interval_s=interval_s, oldest_pending=oldest_pending,
                         tz=tz)
    out.append("")
    out.append(f"device {report['device_id']}  (now {local(now, tz)})")
    out.append(f"next seq {report['next_seq']}, {report['pending']} waiting for a receipt; "
               f"outbox {report['outbox']}")
    for m in report.get("meters", []):
        lc = m.get("last_committed")
        reg = (f", register {lc['last_wh']} Wh" if isinstance(lc, Mapping)
               and isinstance(lc.get("last_wh"), int) else "")
        out.append(f"meter {m['id']}: {m['quantity']} via {m['protocol']}{reg}")
    today = report.get("today")
    if isinstance(today, Mapping):
        energy = ", ".join(f"{k} {v} Wh" for k, v in sorted(today.get("energy_wh", {}).items()))
        out.append(f"today ({today['day']}): {energy or 'no energy yet'}; about "
                   f"{today.get('points_estimate', 0)} points (device estimate)")
    nc = report.get("non_creditable", {})
    if nc.get("total"):
        out.append(f"not creditable: {nc['total']} reading(s); newest:")
        for n in nc.get("recent", [])[:5]:
            out.append(f"  seq {n.get('seq')}: {n.get('reason')}")
    for r in report.get("rejected", [])[:20]:
        out.append(f"rejected seq {r['seq']} ({r.get('meter')}, {r.get('start')}–"
                   f"{r.get('end')}): {r['reason']}")
    out.append("(--json for the machine-readable report)")
    return "\n".join(out)


# --- eco-agent probe -------------------------------------------------------------------------


def power_text(power_w: float | None, *, sun_up: bool | None, quantity: str) -> str:
    """``power_w`` for a person: a 0 W generation reading at night is normal, not a fault."""
    if power_w is None:
        return "not reported by the meter"
    text = f"{power_w:g} W"
    if power_w == 0 and quantity == "pv_generation":
        return text + (" (no sun / inverter idle)" if sun_up is not True
                       else " (inverter idle or in standby: normal at dawn, dusk, or under "
                            "snow; a fault only if it stays at 0 W in full sun)")
    if power_w == 0:
        return text + " (nothing flowing now; normal when idle)"
    return text
