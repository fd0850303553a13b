"""The ledger's public HTTP API: mirror the log, get proofs, deliver witness cosignatures.

Read side (issue 4, point 4), so auditors and witnesses need not trust the aggregator:

* ``GET /checkpoint`` — the latest signed checkpoint (c2sp.org/tlog-checkpoint), followed by the
  witness cosignature lines collected for it (``text/plain; charset=utf-8``, not cached);
* ``GET /tile/<L>/<N>[.p/<W>]`` and ``GET /tile/entries/<N>[.p/<W>]`` — c2sp.org/tlog-tiles
  (``application/octet-stream``, immutable; entry bundles gzip-encoded when the client accepts
  it). Every tile inside the latest checkpoint's tree is served, so the partial tiles of any
  earlier checkpoint remain available;
* ``GET /proof/inclusion?index=I[&size=S]`` and ``GET /proof/inclusion?device_id=D&seq=Q[&size=S]``
  — JSON ``{"index", "size", "root_b64", "leaf_hash_b64", "entry_b64", "proof_b64": [...]}``
  (RFC 6962 audit path; ``size`` defaults to the latest checkpoint's);
* ``GET /proof/consistency?old=M[&new=N]`` — JSON ``{"old", "new", "old_root_b64",
  "new_root_b64", "proof_b64": [...]}`` (RFC 6962 section 2.1.2);
* ``GET /log-keys[?size=S]`` — JSON ``{"size", "changes": [{"index", "entry_b64",
  "proof_b64"}]}``: the log's ``eco.logkey/v1`` entries below ``size``, each with its inclusion
  proof, so a witness that pinned an older log key can follow it to the one signing now;
* with a did:web configured (``[did]``, :mod:`aggregator.did_web`): ``GET /.well-known/did.json``
  (``/<path>/did.json``) — the municipality's DID document, every log key with its validity — and
  ``GET /credentials/status`` (``/<path>/credentials/status``) — the signed Bitstring Status List
  of enrolment credentials (:mod:`aggregator.status_list`; re-signed only when it changes).

Write side, the only one: ``POST /cosignature`` with the checkpoint exactly as served plus the
witness's cosignature/v1 line(s) (c2sp.org/tlog-cosignature) — i.e. what a c2sp.org/tlog-witness
``add-checkpoint`` response gives when appended to the checkpoint. Lines by witness keys in the
log's configuration are verified and stored; the checkpoint must be the log's latest (else
``409`` with the latest ``size``); no line by a known witness gives ``403``.

Errors are JSON ``{"error": "...", "parameter": "<name>" | null}`` with a 4xx status naming the bad
parameter. Each request opens its own store (SQLite connections belong to one thread) through the
``store_factory``; :class:`LogApi` answers one request from one store and does no socket I/O.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from eco_protocol.encoding import b64encode
from eco_protocol.errors import InvalidInput, ProtocolError
from eco_protocol.merkle import (
    consistency_proof,
    consistency_subtrees,
    inclusion_proof,
    inclusion_subtrees,
    leaf_hash,
    root_hash,
    root_subtrees,
)
from eco_protocol.note import NoteVerifier, Verifier, open_checkpoint, parse_verifier_key

from . import did_web
from .errors import AggregatorError, ApiError, Rejected
from .ledger import key_change_indexes, stored_source
from .registry import DEVICE_ID_RE
from .status_list import StatusListCache
from .store.interface import CheckpointRow, LedgerStore
from .tiles import (
    CHECKPOINT_CONTENT_TYPE,
    TILE_CONTENT_TYPE,
    entry_bundle_for,
    parse_tile_path,
    tile_data,
    tile_in_tree,
)

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
DID_TYPE = "application/did+json"  # W3C DID Core §6.2.1
SIZE_TYPE = "text/x.tlog.size"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"  # tlog-tiles: the checkpoint must not be cached beyond a few seconds
MAX_BODY = 64 * 1024

T = TypeVar("T")

_UINT = re.compile(r"0|[1-9][0-9]{0,17}")


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """``log``: the log's verifier key; ``witnesses``: whose cosignatures the log accepts."""

    log: NoteVerifier
    witnesses: tuple[Verifier, ...] = ()
    max_body: int = MAX_BODY
    # the did:web's document and status list (None: not served; the status list is signed,
    # so a host without the log key passes None)
    did: did_web.Issuer | None = None
    status_list: StatusListCache | None = None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str
    cache_control: str = "no-store"
    compressible: bool = False


def error_response(e: ApiError) -> Response:
    """The JSON answer for a refused request: ``{"error": …, "parameter": …}``."""
    return json_response(e.status, {"error": e.message, "parameter": e.parameter})


def json_response(status: int, obj: dict[str, Any], cache: str = "no-store",
                  content_type: str = JSON_TYPE) -> Response:
    body = json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    return Response(status, body, content_type, cache)


def checkpoint_text(note: str) -> str:
    """The checkpoint body of a signed note (everything before the blank line)."""
    return note[: note.find("\n\n") + 1]


def cosigned_note(store: LedgerStore, row: CheckpointRow) -> str:
    """The log's signed checkpoint followed by the witness lines collected for it."""
    return row.note + "".join(store.cosignatures(row.size))


# --- one request against one store ---------------------------------------------------------------


class LogApi:
    """Answers one request from ``store``; raises nothing but returns a :class:`Response`."""

    def __init__(self, store: LedgerStore, cfg: ApiConfig) -> None:
        self.store = store
        self.cfg = cfg

    def get(self, path: str, query: str) -> Response:
        try:
            return self._get(path, query)
        except ApiError as e:
            return error_response(e)

    def post(self, path: str, body: bytes) -> Response:
        try:
            if path != "/cosignature":
                raise ApiError(404, f"no POST endpoint {path[:100]!r}; witnesses POST to "
                                    "/cosignature", "path")
            return self._cosignature(body)
        except ApiError as e:
            return error_response(e)

    # --- GET -------------------------------------------------------------------------------

    def _get(self, path: str, query: str) -> Response:
        if path == "/checkpoint":
            self._no_query(query)
            row = self._latest()
            return Response(200, cosigned_note(self.store, row).encode("utf-8"),
                            CHECKPOINT_CONTENT_TYPE, NO_CACHE)
        if path.startswith("/tile/"):
            self._no_query(query)
            return self._tile(path[1:])
        if path == "/proof/inclusion":
            return self._inclusion(_params(query, {"index", "size", "device_id", "seq"}))
        if path == "/proof/consistency":
            return self._consistency(_params(query, {"old", "new"}))
        if path == "/log-keys":
            return self._log_keys(_params(query, {"size"}))
        issuer = self.cfg.did
        if issuer is not None and path == issuer.document_path:
            self._no_query(query)
            return json_response(200, _found(lambda: did_web.document(issuer, self.store)),
                                 NO_CACHE, DID_TYPE)
        if self.cfg.status_list is not None and path == self.cfg.status_list.issuer.status_path:
            self._no_query(query)
            status_list = self.cfg.status_list
            return Response(200, _found(lambda: status_list.current(self.store,
                                                                    datetime.now(UTC))),
                            JSON_TYPE, NO_CACHE)
        raise ApiError(404, f"no such resource {path[:100]!r}; see /checkpoint, /tile/…, "
                            "/proof/inclusion, /proof/consistency, /log-keys", "path")

    @staticmethod
    def _no_query(query: str) -> None:
        if query:
            raise ApiError(400, "this resource takes no query parameters", "query")

    def _latest(self) -> CheckpointRow:
        row = self.store.latest_checkpoint()
        if row is None:
            raise ApiError(404, "the log has not signed a checkpoint yet")
        return row

    def _tile(self, path: str) -> Response:
        try:
            tile = parse_tile_path(path)
        except Rejected as e:
            raise ApiError(400, str(e), "path") from e
        row = self._latest()
        if not tile_in_tree(tile, row.size):
            raise ApiError(404, f"{tile.path} is not in the tree of the latest checkpoint "
                                f"(size {row.size})", "path")
        if tile.is_entries:
            def entries(lo: int, hi: int) -> Iterator[bytes]:
                return (data for _, data in self.store.entries(lo, hi))
            return Response(200, entry_bundle_for(tile, entries), TILE_CONTENT_TYPE, IMMUTABLE,
                            compressible=True)
        return Response(200, tile_data(tile, self.store.node), TILE_CONTENT_TYPE, IMMUTABLE)

    def _size(self, params: dict[str, str], name: str) -> tuple[int, CheckpointRow]:
        row = self._latest()
        size = _uint(params, name, row.size)
        if size > row.size:
            raise ApiError(400, f"{name}={size} is beyond the latest checkpoint (size "
                                f"{row.size})", name)
        return size, row

    def _inclusion(self, params: dict[str, str]) -> Response:
        size, _ = self._size(params, "size")
        extra: dict[str, Any] = {}
        if "index" in params:
            for p in ("device_id", "seq"):
                if p in params:
                    raise ApiError(400, "give either index, or device_id and seq", p)
            index = _uint(params, "index")
            if index >= size:
                raise ApiError(400, f"index {index} is not in the tree of size {size}", "index")
        else:
            device_id = params.get("device_id")
            if device_id is None:
                raise ApiError(400, "give index, or device_id and seq", "index")
            if not DEVICE_ID_RE.fullmatch(device_id):
                raise ApiError(400, "device_id must be 32 lowercase hex digits", "device_id")
            seq = _uint(params, "seq")
            reading = self.store.reading(device_id, seq)
            if reading is None:
                raise ApiError(404, f"the log holds no reading seq {seq} of device {device_id}",
                               "seq")
            index = reading.leaf_index
            if index >= size:
                raise ApiError(404, f"reading seq {seq} of device {device_id} is leaf {index}, "
                                    f"not yet in the tree of size {size}", "size")
            extra = {"device_id": device_id, "seq": seq}
        entry = self.store.entry(index)
        proof = self._inclusion_path(index, size)
        root = root_hash(size, stored_source(self.store, root_subtrees(size)))
        return json_response(200, {
            "index": index, "size": size, "root_b64": b64encode(root),
            "leaf_hash_b64": b64encode(leaf_hash(entry)), "entry_b64": b64encode(entry),
            "proof_b64": [b64encode(h) for h in proof], **extra}, IMMUTABLE)

    def _inclusion_path(self, index: int, size: int) -> list[bytes]:
        """The proof's stored hashes read at once (Ledger.inclusion_proof's way)."""
        return inclusion_proof(index, size,
                               stored_source(self.store, inclusion_subtrees(index, size)))

    def _consistency(self, params: dict[str, str]) -> Response:
        new, _ = self._size(params, "new")
        old = _uint(params, "old")
        if old > new:
            raise ApiError(400, f"old={old} is larger than new={new}", "old")
        proof = consistency_proof(old, new,
                                  stored_source(self.store, consistency_subtrees(old, new)))
        old_root = root_hash(old, stored_source(self.store, root_subtrees(old)))
        new_root = root_hash(new, stored_source(self.store, root_subtrees(new)))
        return json_response(200, {
            "old": old, "new": new, "old_root_b64": b64encode(old_root),
            "new_root_b64": b64encode(new_root),
            "proof_b64": [b64encode(h) for h in proof]}, IMMUTABLE)

    def _log_keys(self, params: dict[str, str]) -> Response:
        """The log's key changes (``eco.logkey/v1`` entries) in a tree of ``size``, each with
        its inclusion proof: what a witness or verifier that pinned an older key needs to
        trust a checkpoint signed by a newer one."""
        size, _ = self._size(params, "size")
        indexes = [i for i in key_change_indexes(self.store) if i < size]
        changes = [{"index": i, "entry_b64": b64encode(self.store.entry(i)),
                    "proof_b64": [b64encode(h) for h in self._inclusion_path(i, size)]}
                   for i in indexes]
        return json_response(200, {"size": size, "changes": changes})

    def _log_key(self) -> NoteVerifier:
        """The key the log signs with now (it may have changed since this server started)."""
        current = self.store.get_meta("log_vkey")
        return self.cfg.log if current is None else parse_verifier_key(current)

    # --- POST /cosignature -----------------------------------------------------------------

    def _cosignature(self, body: bytes) -> Response:
        if not self.cfg.witnesses:
            raise ApiError(403, "this log accepts no witnesses: add their keys to [witnesses] "
                                "vkeys in its configuration")
        log_key = self._log_key()
        try:
            cp, note = open_checkpoint(body, log_key, self.cfg.witnesses)
        except InvalidInput as e:
            raise ApiError(400, f"not a checkpoint signed by this log: {e}", "body") from e
        lines = [s for s in note.sigs if s.name != log_key.name]
        if not lines:
            names = ", ".join(sorted({s.name for s in note.unverified})) or "none"
            raise ApiError(403, f"no cosignature by a witness this log knows (lines by: {names})",
                           "body")
        row = self._latest()
        if cp.size != row.size or note.text != checkpoint_text(row.note):
            return json_response(409, {
                "error": f"the cosigned checkpoint (size {cp.size}) is not the log's latest "
                         f"(size {row.size}); fetch /checkpoint and cosign that",
                "parameter": "body", "size": row.size})
        with self.store.transaction():
            for s in lines:
                self.store.add_cosignature(row.size, s.name, s.line)
        log.info("stored cosignature(s) of %s for checkpoint size %d",
                 ", ".join(s.name for s in lines), row.size)
        return json_response(200, {"size": row.size, "accepted": sorted(s.name for s in lines)})


def _found(make: Callable[[], T]) -> T:
    """A resource the log cannot give yet (no key, no checkpoint) is a 404 saying why."""
    try:
        return make()
    except ApiError:
        raise
    except Rejected as e:
        raise ApiError(404, str(e)) from e


def _params(query: str, allowed: set[str]) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as e:
        raise ApiError(400, f"malformed query string: {e}", "query") from e
    out: dict[str, str] = {}
    for k, v in pairs:
        if k not in allowed:
            raise ApiError(400, f"unknown parameter {k[:40]!r} (allowed: "
                                f"{', '.join(sorted(allowed))})", k[:40])
        if k in out:
            raise ApiError(400, f"parameter {k!r} is given twice", k)
        out[k] = v
    return out


def _uint(params: dict[str, str], name: str, default: int | None = None) -> int:
    v = params.get(name)
    if v is None:
        if default is None:
            raise ApiError(400, f"parameter {name!r} is required", name)
        return default
    if not _UINT.fullmatch(v):
        raise ApiError(400, f"parameter {name!r} must be a non-negative decimal integer, got "
                            f"{v[:40]!r}", name)
    return int(v)


# --- the HTTP shell -------------------------------------------------------------------------------


StoreFactory = Callable[[], LedgerStore]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    store_factory: StoreFactory
    cfg: ApiConfig


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "eco-aggregator"
    timeout = 30  # a silent client must not hold a thread forever

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        self._answer(lambda api: api.get(url.path, url.query))

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        length_s = self.headers.get("Content-Length")
        if length_s is None or not _UINT.fullmatch(length_s):
            self.close_connection = True
            self._send(error_response(ApiError(411, "POST needs a Content-Length",
                                               "Content-Length")))
            return
        length = int(length_s)
        if length > self.server.cfg.max_body:
            self.close_connection = True
            self._send(error_response(ApiError(413, f"body of {length} bytes exceeds "
                                                    f"{self.server.cfg.max_body}", "body")))
            return
        body = self.rfile.read(length)
        self._answer(lambda api: api.post(url.path, body))

    def _answer(self, handle: Callable[[LogApi], Response]) -> None:
        try:
            store = self.server.store_factory()
        except (AggregatorError, ProtocolError, OSError) as e:
            log.error("cannot open the ledger store: %s", e)
            self._send(error_response(ApiError(503, "the ledger store is unavailable")))
            return
        try:
            resp = handle(LogApi(store, self.server.cfg))
        except Exception as e:  # the boundary: whatever the store raised, the client gets JSON
            log.exception("request %s failed", self.path[:200])
            resp = error_response(ApiError(500, f"internal error: {type(e).__name__}: {e}"))
        finally:
            store.close()
        self._send(resp)

    def _send(self, resp: Response) -> None:
        body = resp.body
        encoding = None
        if resp.compressible and "gzip" in self.headers.get("Accept-Encoding", ""):
            body, encoding = gzip.compress(body, mtime=0), "gzip"
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", resp.cache_control)
        self.send_header("Access-Control-Allow-Origin", "*")
        if resp.compressible:
            self.send_header("Vary", "Accept-Encoding")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        log.debug("%s %s", self.address_string(), format % args)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``; port 0 picks a free port."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise Rejected(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


class ApiServer:
    """The API on a :class:`ThreadingHTTPServer` in a background thread."""

    def __init__(self, host: str, port: int, store_factory: StoreFactory,
                 cfg: ApiConfig) -> None:
        server_cls = _Server6 if ":" in host else _Server
        self._httpd: _Server = server_cls((host, port), _Handler)
        self._httpd.store_factory = store_factory
        self._httpd.cfg = cfg
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host_s = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{host_s}]:{port}" if ":" in host_s else f"http://{host_s}:{port}"

    def start(self) -> ApiServer:
        if self._thread is not None:
            return self
        # stop() waits up to one poll interval for the loop to notice: 50 ms, not 200 (a stop
        # is part of every `serve --http` shutdown; idle, 20 selector wake-ups a second)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="http-api",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        log.info("public read API on %s", self.url)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
