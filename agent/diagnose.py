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

from eco_protocol.encoding import JST
from eco_protocol.messages import Msg, msg, text
from eco_protocol.messages_rules import quantity_name, reason_text
from eco_protocol.os_messages import errno_reason

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
        if code is None and type(seen).__name__ == "error" and seen.args:
            code = seen.args[0]  # termios.error(errno, text): pyserial's "Could not configure"
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


def serial_message(cause: SerialCause, *, port: str, baudrate: int,
                   config: Path | str | None, user: str = "eco-agent") -> Msg:
    """What the installer does about ``cause``; names the port and the config keys."""
    conf: Msg | str = str(config) if config else msg("agent.words.the_config")
    code = {SerialCause.PERMISSION: "agent.serial.permission",
            SerialCause.NO_DEVICE: "agent.serial.no_device",
            SerialCause.BUSY: "agent.serial.busy",
            SerialCause.NO_ANSWER: "agent.serial.no_answer",
            SerialCause.OTHER: "agent.serial.other"}[cause]
    return msg(code, port=port, baudrate=baudrate, conf=conf, user=user)


def serial_advice(cause: SerialCause, *, port: str, baudrate: int, config: Path | str | None,
                  user: str = "eco-agent") -> str:
    """:func:`serial_message` in English."""
    return serial_message(cause, port=port, baudrate=baudrate, config=config, user=user).text()


def serial_error_message(exc: BaseException | None, *, port: str, baudrate: int,
                         config: Path | str | None, timed_out: bool = False) -> Msg:
    """:func:`serial_message` for ``exc``; an unclassified error is quoted in front of it."""
    cause = classify_serial_error(exc, timed_out=timed_out)
    advice = serial_message(cause, port=port, baudrate=baudrate, config=config)
    if cause is not SerialCause.OTHER or exc is None:
        return advice
    why = errno_reason(_errno_of(exc)) or str(exc)  # the errno in the reader's words
    return msg("agent.error.with_advice", error=why, advice=advice)


def serial_error_text(exc: BaseException | None, *, port: str, baudrate: int,
                      config: Path | str | None, timed_out: bool = False) -> str:
    """:func:`serial_error_message` in English."""
    return serial_error_message(exc, port=port, baudrate=baudrate, config=config,
                                timed_out=timed_out).text()


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


def broker_message(cause: BrokerCause, exc: BaseException | None, *, url: str,
                   ca_file: Path | None) -> Msg:
    """``cannot reach the broker at URL: <why>; <what to do>``."""
    what = msg(f"agent.broker.what.{cause.name.lower()}", ca_file=str(ca_file))
    if cause is BrokerCause.TLS_UNTRUSTED and ca_file is None:
        what = msg("agent.broker.what.tls_untrusted_system")
    why = msg(f"agent.broker.cause.{cause.name.lower()}")
    if exc is not None and cause in (BrokerCause.TLS, BrokerCause.OTHER, BrokerCause.NAME):
        return msg("agent.broker.unreachable_detail", url=url, why=why, detail=str(exc),
                   what=what)
    return msg("agent.broker.unreachable", url=url, why=why, what=what)


def broker_advice(cause: BrokerCause, exc: BaseException | None, *, url: str,
                  ca_file: Path | None) -> str:
    """:func:`broker_message` in English."""
    return broker_message(cause, exc, url=url, ca_file=ca_file).text()


def tls_file_message(key: str, path: Path, exc: BaseException) -> Msg:
    """A ``[uplink] ca_file`` (or cert_file/key_file) that cannot be used."""
    why: Msg | str
    if isinstance(exc, FileNotFoundError):
        why = msg("eco_protocol.os.not_found")
    elif isinstance(exc, PermissionError):
        why = msg("agent.tls.permission")
    elif isinstance(exc, IsADirectoryError):
        why = msg("eco_protocol.os.is_directory")
    elif isinstance(exc, ssl.SSLError):
        why = msg("agent.tls.not_pem", reason=str(exc.reason or exc))
    else:
        why = getattr(exc, "strerror", None) or str(exc)
    return msg("agent.tls.file_problem", key=key, path=str(path), why=why)


def tls_file_problem(key: str, path: Path, exc: BaseException) -> str:
    """:func:`tls_file_message` in English."""
    return tls_file_message(key, path, exc).text()


# --- the device key -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastLife:
    """What the box's state says about an identity it had (empty: a fresh box)."""

    device_id: str | None = None  # from the outbox's meta table
    readings_signed: int = 0
    evidence: str | None = None  # the file that shows the box ran before


def missing_key_message(key_path: Path, config: Path | str | None, past: PastLife) -> Msg:
    """A missing device key: on a fresh box, run keygen; on a box that signed before, restore
    the key or ask for a rekey — never mint a new identity silently."""
    conf = str(config) if config else "CONFIG"
    if past.evidence is None:
        return msg("agent.key.missing_fresh", path=str(key_path), conf=conf)
    signed = (msg("agent.key.readings_signed", n=past.readings_signed)
              if past.readings_signed else "")
    return msg("agent.key.missing_enrolled", path=str(key_path), conf=conf,
               evidence=past.evidence, signed=signed, device=past.device_id or "OLD_DEVICE_ID")


def missing_key_advice(key_path: Path, config: Path | str | None, past: PastLife) -> str:
    """:func:`missing_key_message` in English."""
    return missing_key_message(key_path, config, past).text()


# --- eco-agent status ------------------------------------------------------------------------


def parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def local(t: datetime | None, tz: tzinfo | None, lang: str = "en") -> str:
    """``2026-12-04 12:00:00 JST`` (``tz`` None: JST, as the programme's people read times)."""
    if t is None:
        return text("agent.status.never", lang)
    return t.astimezone(tz or JST).strftime("%Y-%m-%d %H:%M:%S %Z")


def age(seconds: float, lang: str = "en") -> str:
    """A duration as a person says it: ``10 s``, ``5 min``, ``2 h 3 min``, ``4 days``."""
    s = max(0, int(seconds))
    if s < 120:
        return text("agent.age.seconds", lang, n=s)
    if s < 7200:
        return text("agent.age.minutes", lang, n=s // 60)
    if s < 2 * 86400:
        return text("agent.age.hours", lang, h=s // 3600, m=s % 3600 // 60)
    return text("agent.age.days", lang, n=s // 86400)


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


def _reading_lines(meters: Sequence[Mapping[str, Any]], now: datetime, interval_s: int,
                   tz: tzinfo | None, lang: str) -> list[str]:
    lines = []
    for m in meters:
        last = _time_of(m.get("last_committed"))
        if last is None:
            lines.append(text("agent.status.reading_none", lang, meter=m["id"]))
            continue
        late = (now - last).total_seconds() > 2 * interval_s + 60
        lines.append(text("agent.status.reading_late" if late else "agent.status.reading_ok",
                          lang, meter=m["id"], last=local(last, tz, lang),
                          age=age((now - last).total_seconds(), lang)))
    return lines


def status_verdict(report: Mapping[str, Any], *, now: datetime, interval_s: int,
                   oldest_pending: datetime | None, tz: tzinfo | None,
                   lang: str = "en") -> list[str]:
    """The first lines of ``eco-agent status``: one verdict per concern."""
    lines = _reading_lines(report.get("meters", []), now, interval_s, tz, lang)
    pending = int(report.get("pending", 0))
    if pending == 0:
        lines.append(text("agent.status.delivering_ok", lang))
    else:
        oldest = ("" if oldest_pending is None else
                  msg("agent.status.oldest", age=age((now - oldest_pending).total_seconds(),
                                                     lang)))
        stuck = oldest_pending is not None and (now - oldest_pending).total_seconds() > 3600
        lines.append(text("agent.status.delivering_behind" if stuck
                          else "agent.status.delivering_waiting", lang, n=pending,
                          oldest=oldest))
    receipt = _time_of(report.get("last_receipt"))
    if receipt is None:
        lines.append(text("agent.status.receipts_none_behind" if pending
                          else "agent.status.receipts_none", lang))
    else:
        current = pending == 0 or (now - receipt).total_seconds() <= 2 * interval_s + 300
        lines.append(text("agent.status.receipts_current" if current
                          else "agent.status.receipts_not_current", lang,
                          last=local(receipt, tz, lang)))
    rejected = len(report.get("rejected", []))
    if rejected:
        lines.append(text("agent.status.rejected", lang, n=rejected))
    clock = report.get("clock", {})
    lines.append(text("agent.status.clock_unsynced" if clock.get("known_unsynced")
                      else "agent.status.clock_ok", lang))
    return lines


def _detail_lines(report: Mapping[str, Any], tz: tzinfo | None, lang: str) -> list[str]:
    out = []
    for m in report.get("meters", []):
        lc = m.get("last_committed")
        reg = (msg("agent.status.register", wh=lc["last_wh"]) if isinstance(lc, Mapping)
               and isinstance(lc.get("last_wh"), int) else "")
        out.append(text("agent.status.meter", lang, meter=m["id"],
                        quantity=quantity_name(m["quantity"]), protocol=m["protocol"],
                        register=reg))
    today = report.get("today")
    if isinstance(today, Mapping):
        energy = [msg("agent.status.energy", quantity=quantity_name(k), wh=v)
                  for k, v in sorted(today.get("energy_wh", {}).items())]
        out.append(text("agent.status.today", lang, day=today["day"],
                        energy=energy or msg("agent.status.no_energy"),
                        points=today.get("points_estimate", 0)))
    nc = report.get("non_creditable", {})
    if nc.get("total"):
        out.append(text("agent.status.not_creditable", lang, n=nc["total"]))
        for n in nc.get("recent", [])[:5]:
            out.append(text("agent.status.not_creditable_row", lang, seq=n.get("seq"),
                            reason=reason_text(str(n.get("reason")), lang)))
    for r in report.get("rejected", [])[:20]:
        start, end = (parse_utc(r.get(k)) for k in ("start", "end"))
        out.append(text("agent.status.rejected_row", lang, seq=r["seq"], meter=r.get("meter"),
                        start=local(start, tz, lang) if start else r.get("start"),
                        end=local(end, tz, lang) if end else r.get("end"),
                        reason=reason_text(str(r["reason"]), lang)))
    return out


def render_status(report: Mapping[str, Any], *, now: datetime, interval_s: int,
                  oldest_pending: datetime | None, tz: tzinfo | None = None,
                  lang: str = "en") -> str:
    """``eco-agent status`` for a person: verdicts first, then details, times in JST (or
    ``tz``)."""
    out = status_verdict(report, now=now, interval_s=interval_s, oldest_pending=oldest_pending,
                         tz=tz, lang=lang)
    out.append("")
    out.append(text("agent.status.device", lang, device=report["device_id"],
                    now=local(now, tz, lang)))
    out.append(text("agent.status.outbox", lang, seq=report["next_seq"], n=report["pending"],
                    outbox=report["outbox"]))
    out.extend(_detail_lines(report, tz, lang))
    out.append(text("agent.status.json_hint", lang))
    return "\n".join(out)


# --- eco-agent probe -------------------------------------------------------------------------


def power_text(power_w: float | None, *, sun_up: bool | None, quantity: str,
               lang: str = "en") -> str:
    """``power_w`` for a person: a 0 W generation reading at night is normal, not a fault."""
    if power_w is None:
        return text("agent.power.not_reported", lang)
    watts = f"{power_w:g}"
    if power_w == 0 and quantity == "pv_generation":
        return text("agent.power.pv_idle_night" if sun_up is not True
                    else "agent.power.pv_idle_day", lang, w=watts)
    if power_w == 0:
        return text("agent.power.zero", lang, w=watts)
    return text("agent.power.watts", lang, w=watts)
