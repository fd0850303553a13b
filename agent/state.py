"""Small, rarely written agent state in TinyDB behind a crash-safe storage.

docs/architecture.md "Storage" and docs/pitfalls.md §2: TinyDB's own ``JSONStorage`` rewrites its
file in place (seek, write, fsync, truncate), so a power cut tears it, and a crash between fsync and
truncate leaves stale bytes after the JSON (TinyDB issue #301, "Extra data"). So
:class:`AtomicJSONStorage` never writes in place: it writes a temporary file in the same
directory, fsyncs it, ``os.replace``s it over the file and fsyncs the directory, after saving the
previous version the same way as ``<file>.bak``. Reading a damaged file recovers, and says so:

* valid JSON followed by trailing bytes (the #301 shape): the complete JSON prefix is the newest
  state; it is kept and the file rewritten;
* a torn or unreadable file: the ``.bak`` (the previous complete version) is used and the file
  rewritten;
* both unusable: :class:`~agent.errors.StateCorrupt` naming both files and what to do.

Only small documents live here (meter identities seen, enrolment info, the pinned log key): the
outbox and sequence counter are in SQLite (:mod:`agent.outbox`). Every read is served from memory
after the first, because TinyDB re-reads its storage on every query.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from eco_protocol.errors import EnvironmentProblem
from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg

from .errors import AgentError, StateCorrupt
from .meters.interface import MeterIdentity

log = logging.getLogger(__name__)

Tables = dict[str, dict[str, Any]]


def _decode(raw: bytes) -> tuple[Tables | None, str | None, bool]:
    """Return (tables, problem, had_trailing_bytes). Pure."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 at byte {e.start}", False
    if not text.strip():
        return None, "empty", False
    trailing = False
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        try:
            value, end = json.JSONDecoder().raw_decode(text.lstrip())
        except json.JSONDecodeError:
            return None, f"torn or not JSON ({e.msg} at byte {e.pos})", False
        trailing = bool(text.lstrip()[end:].strip())
        if not trailing:
            return None, f"not JSON ({e.msg})", False
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in value.items()):
        return None, "not a TinyDB document (expected an object of tables)", False
    return value, None, trailing


class AtomicJSONStorage(Storage):
    """A TinyDB storage that replaces its file atomically and keeps a ``.bak``."""

    def __init__(self, path: str | Path, mode: int = 0o600) -> None:
        self.path = Path(path)
        self.bak = self.path.with_name(self.path.name + ".bak")
        self.mode = mode
        self.recovered: str | None = None
        self._text: str | None = None
        self._data: Tables | None = self._load()

    def _read_file(self, p: Path) -> tuple[Tables | None, str | None, bool]:
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            return None, "missing", False
        except OSError as e:
            return None, f"unreadable ({e.strerror})", False
        return _decode(raw)

    def _load(self) -> Tables | None:
        data, problem, trailing = self._read_file(self.path)
        if data is not None and not trailing:
            self._text = self._encode(data)
            return data
        if data is not None:
            self.recovered = (f"state file {self.path} had stray bytes after its JSON (a torn "
                              "in-place write); kept the complete JSON before them")
        else:
            bak, bak_problem, _ = self._read_file(self.bak)
            if problem == "missing" and bak_problem == "missing":
                return None
            if bak is None:
                raise StateCorrupt(msg("agent.state.both_bad", path=self.path, problem=problem,
                                       bak=self.bak, bak_problem=bak_problem))
            data = bak
            self.recovered = (f"state file {self.path} was {problem}; recovered the previous "
                              f"version from {self.bak}")
        log.warning("%s", self.recovered)
        self._write_main(data)  # repair now, without touching the good .bak
        return data

    @staticmethod
    def _encode(data: Tables) -> str:
        return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1) + "\n"

    def _write_main(self, data: Tables) -> None:
        text = self._encode(data)
        try:
            atomic_write(self.path, text.encode("utf-8"), self.mode)
        except (OSError, EnvironmentProblem) as e:
            raise AgentError(msg("agent.state.cannot_write", path=self.path, error=e)) from e
        self._text = text

    def read(self) -> Tables | None:
        return copy.deepcopy(self._data)

    def write(self, data: Tables) -> None:
        text = self._encode(data)
        if text == self._text:
            return  # nothing changed: spare the SD card
        try:
            if self._text is not None:
                atomic_write(self.bak, self._text.encode("utf-8"), self.mode)
            atomic_write(self.path, text.encode("utf-8"), self.mode)
        except (OSError, EnvironmentProblem) as e:
            raise AgentError(msg("agent.state.cannot_write", path=self.path, error=e)) from e
        self._text = text
        self._data = copy.deepcopy(data)

    def close(self) -> None:
        pass


class AgentState:
    """Meter identities seen, enrolment info and the pinned log key, in one TinyDB file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = TinyDB(path, storage=AtomicJSONStorage)
        storage = self._db.storage
        assert isinstance(storage, AtomicJSONStorage)
        self.recovered: str | None = storage.recovered

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _device(self) -> dict[str, Any]:
        docs = self._db.table("device").all()
        return dict(docs[0]) if docs else {}

    def _set_device(self, **fields: Any) -> None:
        table = self._db.table("device")
        if table.all():
            table.update(fields)
        else:
            table.insert(fields)

    # -- the pinned log key ------------------------------------------------------------------

    def pinned_log_key(self) -> str | None:
        with self._lock:
            v = self._device().get("log_key")
        return v if isinstance(v, str) else None

    def pin_log_key(self, vkey: str, at: str) -> None:
        with self._lock:
            if self._device().get("log_key") != vkey:
                self._set_device(log_key=vkey, log_key_pinned_at=at, log_key_changes=[])

    def followed_log_key_changes(self) -> list[dict[str, Any]]:
        """The ``eco.logkey/v1`` records that took the pin from the configured key to the
        pinned one (empty when they are the same)."""
        with self._lock:
            v = self._device().get("log_key_changes")
        return [dict(r) for r in v if isinstance(r, dict)] if isinstance(v, list) else []

    def follow_log_key(self, vkey: str, changes: list[dict[str, Any]], at: str) -> None:
        """Pin ``vkey``, reached through ``changes`` (kept, so a restart can re-check them)."""
        with self._lock:
            self._set_device(log_key=vkey, log_key_pinned_at=at, log_key_changes=changes)

    # -- enrolment -----------------------------------------------------------------------------

    def enrolment(self) -> dict[str, Any] | None:
        with self._lock:
            v = self._device().get("enrolment")
        return dict(v) if isinstance(v, dict) else None

    def set_enrolment(self, info: Mapping[str, Any]) -> None:
        with self._lock:
            self._set_device(enrolment=dict(info))

    # -- meter identities --------------------------------------------------------------------

    def meter_identity(self, meter_id: str) -> MeterIdentity | None:
        with self._lock:
            doc = self._db.table("meters").get(Query().meter_id == meter_id)
        if doc is None:
            return None
        return MeterIdentity(str(doc["protocol"]), str(doc["manufacturer"]), str(doc["model"]),
                             str(doc["serial"]))

    def record_meter_identity(self, meter_id: str, identity: MeterIdentity, at: str) -> bool:
        """Remember the identity a meter reported; True if it is new or changed (written)."""
        fields = {"protocol": identity.protocol, "manufacturer": identity.manufacturer,
                  "model": identity.model, "serial": identity.serial}
        with self._lock:
            table = self._db.table("meters")
            q = Query().meter_id == meter_id
            doc = table.get(q)
            if doc is not None and all(doc.get(k) == v for k, v in fields.items()):
                return False
            if doc is None:
                table.insert({"meter_id": meter_id, **fields, "first_seen": at, "changed_at": at})
            else:
                table.update({**fields, "changed_at": at}, q)
            return True

    def meters(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {str(d["meter_id"]): dict(d) for d in self._db.table("meters").all()}
