"""``eco-aggregator witness``: co-sign the log's checkpoints after checking it only ever grows.

A witness (a neighbouring municipality, the verification body) keeps the last checkpoint it
cosigned for the log; on each round it fetches the log's current ``checkpoint``, verifies the log's
signature, proves the new tree extends the trusted one with an RFC 6962 consistency proof
computed from the log's c2sp.org/tlog-tiles (each tile authenticated against the new root by
:class:`~aggregator.tiles.VerifiedTileSource`, so nothing the server says is taken on trust), and
adds a c2sp.org/tlog-cosignature ``cosignature/v1`` line (docs/protocol.md §4).

The checks and the state are those of a c2sp.org/tlog-witness witness: the first checkpoint is
accepted with an empty proof (old size 0); a checkpoint of the same size must have the same root;
a larger one needs a verifying consistency proof; the new state is persisted (atomically) before
the cosignature leaves. What differs is the direction: tlog-witness has the log push
``add-checkpoint`` to a witness server, while this witness *pulls* from the log's public read API
and delivers its cosignature with ``POST <log>/cosignature`` (the checkpoint as served plus the
witness's line — the form tlog-witness says a client may build from an ``add-checkpoint``
response). So a witness needs no listening port, and the log needs no list of witness URLs —
a witness behind a municipal firewall works.

Two checkpoints that cannot both be true — same size and different roots, or a larger tree whose
authenticated tiles give a different root for the trusted size — are proof that the log signed a
fork. Both signed notes are kept in the state file with the proof, the witness stops cosigning
this log for good, and the CLI exits with status 3.

Pure: :func:`verify_step` (the decision) and the state codec. I/O: :class:`LogClient` (urllib)
and :func:`witness_once` / :func:`witness_forever`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode, b64encode
from eco_protocol.errors import InvalidInput, NoteError, ProofError
from eco_protocol.keyfile import atomic_write, load_private_key
from eco_protocol.logkey import chain_from_changes, same_key
from eco_protocol.merkle import (
    SubtreeSource,
    consistency_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from eco_protocol.messages import msg, said
from eco_protocol.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    NoteSignature,
    NoteVerifier,
    cosignature_time,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    parse_witness_key,
)
from eco_protocol.os_messages import os_reason

from .errors import ConfigError, EnvironmentProblem, Inconsistent, LogMisbehaviour, Rejected
from .tiles import Tile, VerifiedTileSource

log = logging.getLogger(__name__)

STATE_TYPE = "eco.witness-state/v1"
MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_TILE_BYTES = 256 * 32
SUBMIT_ATTEMPTS = 5


# --- the decision (pure) -------------------------------------------------------------------------


def verify_step(trusted: Checkpoint | None, new: Checkpoint,
                tiles: Callable[[], SubtreeSource]) -> tuple[bytes, ...]:
    """Decide whether ``new`` may be cosigned after ``trusted``; returns the consistency proof.

    ``tiles()`` gives the hashes of the *new* tree, authenticated against its root (only called
    when the tree grew). Raises :class:`Inconsistent` for a fork, :class:`Rejected` when the log
    serves an older tree than the trusted one, :class:`ProofError` when its tiles are bad.
    """
    if trusted is None:
        return ()  # tlog-witness: old size 0, empty proof
    if new.origin != trusted.origin:
        raise Rejected(msg("aggregator.witness.origin", new=repr(new.origin),
                           trusted=repr(trusted.origin)))
    if new.size == trusted.size:
        if new.root_hash != trusted.root_hash:
            raise Inconsistent(said("aggregator.witness.two_roots", size=new.size))
        return ()
    if new.size < trusted.size:
        raise Rejected(msg("aggregator.witness.older", size=new.size, trusted=trusted.size))
    source = tiles()
    proof = consistency_proof(trusted.size, new.size, source)  # ProofError: bad tiles
    try:
        verify_consistency(trusted.size, new.size, trusted.root_hash, new.root_hash, proof)
    except ProofError as e:
        # The tiles are authenticated against the new root, so the new tree's first
        # trusted.size leaves really have this other root: a fork, not a transport error.
        raise Inconsistent(
            said("aggregator.witness.not_extending", size=new.size, trusted=trusted.size,
                 error=e), tuple(proof), root_hash(trusted.size, source)) from e
    return tuple(proof)


# --- state (pure codec, atomic file) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Misbehaviour:
    """Evidence of a fork: two checkpoints signed by the log key that cannot both hold."""

    reason: str
    trusted_checkpoint: str      # the signed note this witness had cosigned
    conflicting_checkpoint: str  # the signed note that contradicts it
    seen_at: int
    proof_b64: tuple[str, ...] = ()
    old_root_in_new_tree_b64: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "trusted_checkpoint": self.trusted_checkpoint,
                "conflicting_checkpoint": self.conflicting_checkpoint, "seen_at": self.seen_at,
                "proof_b64": list(self.proof_b64),
                "old_root_in_new_tree_b64": self.old_root_in_new_tree_b64}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Misbehaviour:
        return cls(str(d["reason"]), str(d["trusted_checkpoint"]),
                   str(d["conflicting_checkpoint"]), int(d["seen_at"]),
                   tuple(str(p) for p in d.get("proof_b64", [])),
                   None if d.get("old_root_in_new_tree_b64") is None
                   else str(d["old_root_in_new_tree_b64"]))


@dataclass(frozen=True, slots=True)
class WitnessState:
    """What a witness keeps per log: its keys, the last checkpoint it cosigned, and any fork."""

    log_vkey: str
    witness_vkey: str
    checkpoint: str | None = None  # the log-signed note last verified and cosigned
    cosigned: str | None = None    # the same with this witness's line, as submitted
    cosigned_at: int | None = None
    misbehaviour: Misbehaviour | None = None
    # the log keys this witness trusted before ``log_vkey``, oldest first (followed changes)
    previous_log_vkeys: tuple[str, ...] = ()

    def trusted(self) -> Checkpoint | None:
        return None if self.checkpoint is None else Checkpoint.from_text(
            checkpoint_body(self.checkpoint))

    def to_json(self) -> bytes:
        return (json.dumps({
            "type": STATE_TYPE, "log_vkey": self.log_vkey, "witness_vkey": self.witness_vkey,
            "checkpoint": self.checkpoint, "cosigned": self.cosigned,
            "cosigned_at": self.cosigned_at,
            "misbehaviour": None if self.misbehaviour is None else self.misbehaviour.to_dict(),
            "previous_log_vkeys": list(self.previous_log_vkeys),
        }, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, where: str) -> WitnessState:
        try:
            d = json.loads(data)
            if not isinstance(d, dict) or d.get("type") != STATE_TYPE:
                raise ValueError(f"not a {STATE_TYPE} document")
            mis = d.get("misbehaviour")
            return cls(str(d["log_vkey"]), str(d["witness_vkey"]),
                       None if d.get("checkpoint") is None else str(d["checkpoint"]),
                       None if d.get("cosigned") is None else str(d["cosigned"]),
                       None if d.get("cosigned_at") is None else int(d["cosigned_at"]),
                       None if mis is None else Misbehaviour.from_dict(mis),
                       tuple(str(k) for k in d.get("previous_log_vkeys", [])))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise EnvironmentProblem(msg("aggregator.witness.state_damaged", where=where,
                                         error=str(e))) from e


def checkpoint_body(note: str) -> str:
    return note[: note.find("\n\n") + 1]


def load_state(path: Path) -> WitnessState | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise EnvironmentProblem(msg("aggregator.witness.state_unreadable", path=str(path),
                                     reason=os_reason(e))) from e
    return WitnessState.from_json(data, str(path))


def save_state(path: Path, state: WitnessState) -> None:
    try:
        atomic_write(path, state.to_json(), 0o644)
    except OSError as e:
        raise EnvironmentProblem(msg("aggregator.witness.state_unwritable", path=str(path),
                                     reason=os_reason(e))) from e


# --- keys ---------------------------------------------------------------------------------------


def vkey_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".vkey")


def load_witness_signer(key_file: Path) -> CosignatureSigner:
    """The witness key: the seed in ``key_file``, its name in ``key_file.vkey``."""
    private = load_private_key(key_file)
    vfile = vkey_path(key_file)
    try:
        vkey = vfile.read_text("utf-8").strip()
    except OSError as e:
        raise ConfigError(msg("aggregator.witness.vkey_unreadable", path=str(vfile),
                              reason=os_reason(e))) from e
    try:
        verifier = parse_witness_key(vkey)
    except NoteError as e:
        raise ConfigError(msg("aggregator.witness.vkey_bad", path=str(vfile), error=e)) from e
    signer = CosignatureSigner(verifier.name, private)
    if signer.verifier != verifier:
        raise ConfigError(msg("aggregator.witness.vkey_mismatch", path=str(vfile),
                              key=str(key_file)))
    return signer


# --- talking to the log ---------------------------------------------------------------------------


class LogClient:
    """The log's public read API (and its cosignature endpoint) over HTTP(S), with limits."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout_s

    def _get(self, path: str, limit: int) -> bytes:
        url = f"{self.base}/{path}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as r:  # noqa: S310
                data: bytes = r.read(limit + 1)
        except urllib.error.HTTPError as e:
            raise EnvironmentProblem(msg("aggregator.http.status", url=url, code=e.code,
                                         error=_error_text(e))) from e
        except (urllib.error.URLError, OSError) as e:
            raise EnvironmentProblem(msg("aggregator.http.unreachable", url=url,
                                         error=str(e))) from e
        if len(data) > limit:
            raise Rejected(msg("aggregator.http.too_large", url=url, limit=limit))
        return data

    def checkpoint(self) -> bytes:
        return self._get("checkpoint", MAX_CHECKPOINT_BYTES)

    def tile(self, tile: Tile) -> bytes:
        return self._get(tile.path, MAX_TILE_BYTES)

    def log_keys(self, size: int) -> bytes:
        return self._get(f"log-keys?size={size}", MAX_TILE_BYTES)

    def submit(self, cosigned: str) -> tuple[int, dict[str, Any]]:
        """POST the cosigned checkpoint; returns the HTTP status and the JSON answer."""
        url = f"{self.base}/cosignature"
        req = urllib.request.Request(url, data=cosigned.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:  # noqa: S310
                return r.status, _json_body(r.read(MAX_CHECKPOINT_BYTES))
        except urllib.error.HTTPError as e:
            return e.code, _json_body(e.read(MAX_CHECKPOINT_BYTES))
        except (urllib.error.URLError, OSError) as e:
            raise EnvironmentProblem(msg("aggregator.http.post_unreachable", url=url,
                                         error=str(e))) from e


def _json_body(data: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError:
        return {"error": data[:200].decode("utf-8", "replace")}
    return obj if isinstance(obj, dict) else {"error": repr(obj)[:200]}


def _error_text(e: urllib.error.HTTPError) -> str:
    return str(_json_body(e.read(4096)).get("error", ""))


# --- one round ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessConfig:
    log: NoteVerifier
    signer: CosignatureSigner
    state_path: Path
    submit: bool = True


@dataclass(frozen=True, slots=True)
class WitnessOutcome:
    """``verdict``: first (nothing trusted before), grew, same (re-cosigned with a fresh time),
    unchanged (the log already serves our valid line for this checkpoint: nothing to do)."""

    size: int
    verdict: str
    cosigned: str
    submitted: bool
    accepted: tuple[str, ...] = ()


def _own_line(note_unverified: tuple[NoteSignature, ...], me: CosignatureVerifier,
              text: str) -> NoteSignature | None:
    for s in note_unverified:
        if (s.name, s.key_id) == (me.name, me.key_id):
            try:
                open_note(text + "\n" + s.line, [me])
            except NoteError:
                return None
            return s
    return None


def _with_line(served: str, log_key: NoteVerifier, me: CosignatureVerifier,
               line: NoteSignature) -> str:
    """The note as served, with any older line of ours replaced by ``line``."""
    note = open_note(served, [log_key])
    keep = [s for s in (*note.sigs, *note.unverified) if (s.name, s.key_id) != (me.name, me.key_id)]
    return note.text + "\n" + "".join(s.line for s in keep) + line.line


def _tiles_of(cp: Checkpoint, client: LogClient) -> Callable[[], SubtreeSource]:
    def tiles() -> SubtreeSource:
        return VerifiedTileSource(cp.size, cp.root_hash, client.tile)
    return tiles


def witness_once(cfg: WitnessConfig, client: LogClient,
                 now: Callable[[], int] = lambda: int(time.time())) -> WitnessOutcome:
    """Fetch, verify, cosign, persist, submit. Retries when the log moved on meanwhile (409)."""
    me = cfg.signer.verifier
    state = load_state(cfg.state_path) or WitnessState(cfg.log.vkey, me.vkey)
    known_log_keys = (*state.previous_log_vkeys, state.log_vkey)
    if cfg.log.vkey not in known_log_keys or state.witness_vkey != me.vkey:
        raise ConfigError(msg("aggregator.witness.state_other", path=str(cfg.state_path),
                              log_vkey=state.log_vkey, witness_vkey=state.witness_vkey))
    if state.misbehaviour is not None:
        raise LogMisbehaviour(msg("aggregator.witness.fork_recorded", log=cfg.log.name,
                                  path=str(cfg.state_path),
                                  reason=state.misbehaviour.reason))
    for _ in range(SUBMIT_ATTEMPTS):
        raw = client.checkpoint()
        log_key = parse_verifier_key(state.log_vkey)
        try:
            served = raw.decode("utf-8")
            try:
                cp, note = open_checkpoint(served, log_key)
            except NoteError:
                followed = follow_log_key(log_key, served, client)
                if followed is None:
                    raise
                cp, note = open_checkpoint(served, followed)
                log.warning("the log changed its key: %s now signs for %s", followed.vkey,
                            log_key.vkey)
                state = replace(state, log_vkey=followed.vkey,
                                previous_log_vkeys=(*state.previous_log_vkeys, log_key.vkey))
                log_key = followed
        except (UnicodeDecodeError, InvalidInput) as e:
            raise Rejected(msg("aggregator.witness.bad_checkpoint", vkey=log_key.vkey,
                               error=str(e))) from e
        trusted = state.trusted()
        try:
            proof = verify_step(trusted, cp, _tiles_of(cp, client))
        except Inconsistent as e:
            assert state.checkpoint is not None
            mis = Misbehaviour(e.reason, state.checkpoint, served, now(),
                               tuple(b64encode(h) for h in e.proof),
                               None if e.old_root_in_new_tree is None
                               else b64encode(e.old_root_in_new_tree))
            save_state(cfg.state_path, replace(state, misbehaviour=mis))
            raise LogMisbehaviour(msg("aggregator.witness.fork", reason=e.reason,
                                      path=str(cfg.state_path))) from e
        verdict = "first" if trusted is None else (
            "grew" if cp.size > trusted.size else "same")
        log.debug("consistency proof %d → %d: %d hashes", 0 if trusted is None else trusted.size,
                  cp.size, len(proof))
        if verdict == "same" and _own_line(note.unverified, me, note.text) is not None:
            return WitnessOutcome(cp.size, "unchanged", served, False)
        line = cfg.signer.cosign(note.text, now())
        cosigned = _with_line(served, log_key, me, line)
        open_checkpoint(cosigned, log_key, [me])  # our own line must verify, or nothing leaves
        state = replace(state, checkpoint=served, cosigned=cosigned,
                        cosigned_at=cosignature_time(line))
        save_state(cfg.state_path, state)  # persist before the cosignature leaves
        log.info("cosigned %s size %d (%s)", cp.origin, cp.size, verdict)
        if not cfg.submit:
            return WitnessOutcome(cp.size, verdict, cosigned, False)
        status, answer = client.submit(cosigned)
        if status == 200:
            accepted = tuple(str(a) for a in answer.get("accepted", []))
            return WitnessOutcome(cp.size, verdict, cosigned, True, accepted)
        if status == 409:
            log.info("the log moved on past size %d; fetching its new checkpoint", cp.size)
            continue
        raise EnvironmentProblem(msg("aggregator.witness.refused", status=status,
                                     error=answer.get("error", "")))
    raise EnvironmentProblem(msg("aggregator.witness.moving", n=SUBMIT_ATTEMPTS))


def follow_log_key(trusted: NoteVerifier, served: str,
                   client: LogClient) -> NoteVerifier | None:
    """The log key that signs ``served``, if the log's key changes lead to it from ``trusted``.

    The changes come from ``GET /log-keys`` with inclusion proofs against the served
    checkpoint's root; each change must be signed by the key before it and endorsed by the key
    after it (:func:`eco_protocol.logkey.chain_from_changes`), and the checkpoint must then verify
    under the key the chain puts in effect at its size — which is what makes its root, and so the
    proofs, trustworthy. None: the log shows no change from ``trusted`` (the caller reports the
    original signature failure)."""
    cp = Checkpoint.from_text(checkpoint_body(served))
    body = _json_body(client.log_keys(cp.size))
    items = body.get("changes")
    if not isinstance(items, list) or not items:
        return None
    changes = []
    for item in items:
        try:
            index, entry = int(item["index"]), b64decode(item["entry_b64"], "entry_b64")
            proof = [b64decode(h, "proof_b64") for h in item["proof_b64"]]
        except (KeyError, TypeError, ValueError) as e:
            raise Rejected(msg("aggregator.witness.log_keys_shape", error=str(e))) from e
        verify_inclusion(index, cp.size, leaf_hash(entry), proof, cp.root_hash)
        record = parse_json(entry)
        if not isinstance(record, dict):
            raise Rejected(msg("aggregator.witness.log_keys_record", index=index))
        changes.append((index, record))
    chain = chain_from_changes(trusted, changes)
    new = chain.key_at(cp.size)
    if same_key(new, trusted):
        return None
    open_checkpoint(served, new)  # the root the proofs were checked against is the log's
    return new


def witness_forever(cfg: WitnessConfig, client: LogClient, stop: threading.Event,
                    interval_s: float) -> None:
    """Rounds every ``interval_s`` until ``stop``; transient trouble is logged and retried, a
    fork (:class:`LogMisbehaviour`) ends the loop by propagating."""
    while not stop.is_set():
        try:
            out = witness_once(cfg, client)
            log.info("checkpoint size %d: %s%s", out.size, out.verdict,
                     " (submitted)" if out.submitted else "")
        except (EnvironmentProblem, Rejected, InvalidInput) as e:
            log.warning("witness round failed: %s; retrying in %.0f s", e, interval_s)
        stop.wait(interval_s)
