"""The shop's copy of what checking a statement needs (issue 20): the town's DID document and its
signed status list, fetched from the town's read API when it answers and kept on disk, so a
counter checks a resident's statement with no round trip to the town — and keeps checking with
the copy it has when the town cannot be reached, saying how old that copy is.

A copy is refreshed when it is older than ``max_age`` (and a refresh is tried at most once per
``max_age`` after a failure too, so an unreachable town does not slow every check). Nothing
fetched is trusted for being fetched: the document must name the town's DID and the list the
town's status list URL, and :func:`eco_protocol.credentials.check_credential` verifies the
list's own proof against the document at every check. The files are ``did.json``,
``status-list.json`` and ``fetched-at`` under the web UI's directory.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eco_protocol.encoding import format_time, parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.keyfile import atomic_write

from ..did_web import Issuer

log = logging.getLogger(__name__)

MAX_BYTES = 4 * 1024 * 1024  # a DID document or status list larger than this is refused
DOCUMENT, STATUS_LIST, FETCHED_AT = "did.json", "status-list.json", "fetched-at"


@dataclass(frozen=True, slots=True)
class TownKeys:
    """What a check uses: the cached documents by DID, the status lists by URL, when they were
    fetched (None: never), and whether the last try to refresh them failed."""

    did_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    status_lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched_at: datetime | None = None
    unreachable: bool = False

    def age(self, now: datetime) -> timedelta | None:
        return None if self.fetched_at is None else max(timedelta(0), now - self.fetched_at)


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only
        body = resp.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise ValueError(f"{url}: larger than {MAX_BYTES} bytes")
    obj = json.loads(body)
    if not isinstance(obj, dict):
        raise ValueError(f"{url}: not a JSON object")
    return obj


class TownCache:
    """The on-disk copy for one town (``issuer``), fetched from ``base_url`` (the read API:
    the document at ``issuer.document_path``, the list at ``issuer.status_path``)."""

    def __init__(self, directory: Path, issuer: Issuer, base_url: str, max_age: timedelta,
                 timeout: float = 3.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the town's read API {base_url!r}: expected an http(s) URL")
        self.directory, self.issuer = directory, issuer
        self.base_url, self.max_age, self.timeout = base_url.rstrip("/"), max_age, timeout
        self._lock = threading.Lock()
        self._tried: datetime | None = None
        self._failed = False

    def keys(self, now: datetime) -> TownKeys:
        """The copy, refreshed first if it is older than ``max_age`` and the town answers."""
        with self._lock:
            held = self._load()
            due = held.fetched_at is None or now - held.fetched_at >= self.max_age
            if due and (self._tried is None or now - self._tried >= self.max_age):
                self._tried = now
                self._failed = not self._refresh(now)
                held = self._load()
            return TownKeys(held.did_documents, held.status_lists, held.fetched_at,
                            self._failed)

    def _refresh(self, now: datetime) -> bool:
        try:
            document = _get_json(self.base_url + self.issuer.document_path, self.timeout)
            status = _get_json(self.base_url + self.issuer.status_path, self.timeout)
        except (OSError, ValueError, urllib.error.URLError) as e:
            log.warning("the town's read API %s did not answer (%s); checking with the copy "
                        "kept in %s", self.base_url, e, self.directory)
            return False
        if document.get("id") != self.issuer.did or \
                status.get("id") != self.issuer.status_list_url:
            log.warning("the read API %s serves another town's DID document or status list "
                        "(expected %s); the copy in %s is kept", self.base_url,
                        self.issuer.did, self.directory)
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, obj in ((DOCUMENT, document), (STATUS_LIST, status)):
            atomic_write(self.directory / name,
                         json.dumps(obj, ensure_ascii=False).encode("utf-8"), 0o644)
        atomic_write(self.directory / FETCHED_AT, format_time(now).encode(), 0o644)
        return True

    def _load(self) -> TownKeys:
        try:
            document = json.loads((self.directory / DOCUMENT).read_text("utf-8"))
            status = json.loads((self.directory / STATUS_LIST).read_text("utf-8"))
            fetched = parse_time((self.directory / FETCHED_AT).read_text("utf-8").strip(),
                                 "fetched-at")
        except FileNotFoundError:
            return TownKeys()
        except (OSError, ValueError, InvalidInput) as e:
            log.warning("the copy of the town's keys in %s is unreadable (%s); fetching anew",
                        self.directory, e)
            return TownKeys()
        return TownKeys({self.issuer.did: document}, {self.issuer.status_list_url: status},
                        fetched)


__all__ = ["TownCache", "TownKeys"]
