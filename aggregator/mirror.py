"""``eco-aggregator mirror``: every member holds a verified copy of every other member's log.

For each other member of the consortium (``consortium.toml``, :mod:`eco_protocol.consortium`) one
round fetches the member's ``checkpoint`` from its read API, verifies the log's signature under
the key the consortium names (following a key change the log announced in itself, as the
witness does), proves with an RFC 6962 consistency proof computed from the member's
c2sp.org/tlog-tiles (each tile authenticated against the new root) that the new tree extends the
last one this mirror verified, fetches the new entries from the entry bundles, and stores them
with the checkpoint in one transaction once the stored tree's root equals the signed one
(:mod:`aggregator.mirror_store`). The witness lines kept are those that verify under the keys the
consortium names for that log, so the mirror serves the member's cosigned checkpoint even if the
member disappears.

The fork decision is the witness's (:func:`aggregator.witness.verify_step`): two signed
checkpoints that cannot both hold leave ``FORK.json`` with both notes and the proof beside the
member's mirror, the earlier view untouched, and every later round refuses that member with
:class:`~aggregator.errors.LogMisbehaviour` (the CLI's exit status 3). The other members are
mirrored on regardless: one member misbehaving must not blind the consortium to the rest.

Transport: the witness's :class:`~aggregator.witness.LogClient` (stdlib HTTP with size limits),
so the aggregator needs no further HTTP library at run time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eco_protocol.consortium import Consortium, Member
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.errors import InvalidInput, NoteError, ProtocolError
from eco_protocol.messages import msg, said
from eco_protocol.note import Checkpoint, Note, NoteVerifier, open_checkpoint, parse_verifier_key
from eco_protocol.witness_policy import quorum_of
from eco_runtime.sdnotify import sd_notify

from .errors import AggregatorError, Inconsistent, LogMisbehaviour, Rejected
from .http_api import cosigned_note
from .mirror_store import Advance, ForkAlarm, MemberMirror, store_advance, trusted_checkpoint
from .store import LedgerStore
from .tiles import (
    ENTRIES,
    MAX_BUNDLE_ENTRY,
    Tile,
    VerifiedTileSource,
    parse_entry_bundle,
    tile_for_tree,
)
from .witness import LogClient, Misbehaviour, follow_log_key, verify_step

log = logging.getLogger(__name__)

MAX_BUNDLE_BYTES = 256 * (2 + MAX_BUNDLE_ENTRY)


class MirrorClient(LogClient):
    """A member's read API: the witness's client plus entry bundles (larger than hash tiles)."""

    def entry_bundle(self, tile: Tile) -> bytes:
        return self._get(tile.path, MAX_BUNDLE_BYTES)


@dataclass(frozen=True, slots=True)
class MirrorOutcome:
    """``verdict``: first (nothing mirrored before), grew, same. ``published``: the mirrored
    checkpoint carries the consortium policy's quorum of cosignatures."""

    member: str
    size: int
    verdict: str
    added: int
    published: bool
    cosigned: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"size": self.size, "verdict": self.verdict, "added": self.added,
                "published": self.published, "cosigned": list(self.cosigned)}


def mirror_once(consortium: Consortium, member: Member, mirror: MemberMirror,
                client: MirrorClient,
                now: Callable[[], int] = lambda: int(time.time())) -> MirrorOutcome:
    """One verified round for one member; raises :class:`LogMisbehaviour` on a fork (new or
    recorded before), and the usual families on anything else."""
    alarm = mirror.alarm()
    if alarm is not None:
        raise LogMisbehaviour(msg("aggregator.mirror.fork_recorded", member=member.name,
                                  origin=alarm.origin, path=mirror.alarm_path,
                                  reason=alarm.evidence.reason))
    store = mirror.open()
    try:
        return _round(consortium, member, mirror, store, client, now)
    finally:
        store.close()


def _round(consortium: Consortium, member: Member, mirror: MemberMirror, store: LedgerStore,
           client: MirrorClient, now: Callable[[], int]) -> MirrorOutcome:
    trusted = trusted_checkpoint(store)
    stored_key = store.get_meta("log_vkey")
    log_key = member.log_key if stored_key is None else parse_verifier_key(stored_key)
    served = _text(client.checkpoint(), member)
    cp, note, log_key = _open(consortium, member, served, log_key, client)
    source = VerifiedTileSource(cp.size, cp.root_hash, client.tile)
    try:
        proof = verify_step(None if trusted is None else trusted[1], cp, lambda: source)
    except Inconsistent as e:
        assert trusted is not None
        evidence = Misbehaviour(e.reason, trusted[0].note, served, now(),
                                tuple(b64encode(h) for h in e.proof),
                                None if e.old_root_in_new_tree is None
                                else b64encode(e.old_root_in_new_tree))
        mirror.raise_alarm(ForkAlarm(member.name, member.origin, evidence))
        log.critical("LOG MISBEHAVIOUR by %s (%s): %s; evidence in %s", member.name,
                     member.origin, e.reason, mirror.alarm_path)
        raise LogMisbehaviour(msg("aggregator.mirror.fork", member=member.name,
                                  reason=e.reason, path=mirror.alarm_path)) from e
    old = 0 if trusted is None else trusted[1].size
    entries = fetch_entries(client, cp.size, old) if cp.size > old else []
    log_lines = "".join(s.line for s in note.sigs if s.name == log_key.name)
    cosigs = [(s.name, s.line) for s in note.sigs if s.name != log_key.name]
    store_advance(store, Advance(note.text + "\n" + log_lines, cp, entries, proof, cosigs,
                                 format_time_s(now()), log_key.vkey))
    row = store.latest_checkpoint()
    assert row is not None
    try:
        q = quorum_of(consortium, cosigned_note(store, row))
        published, cosigned = q.reached, q.cosigned
    except InvalidInput:  # e.g. the log's key changed and the consortium file names the old one
        published, cosigned = False, tuple(sorted(n for n, _ in cosigs))
    verdict = "first" if trusted is None else ("grew" if cp.size > old else "same")
    log.info("mirrored %s: size %d (%s, %d new entries%s)", member.name, cp.size, verdict,
             len(entries), ", published" if published else ", quorum not yet reached")
    return MirrorOutcome(member.name, cp.size, verdict, len(entries), published, cosigned)


def _text(raw: bytes, member: Member) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Rejected(msg("aggregator.mirror.not_utf8", member=member.name)) from e


def _open(consortium: Consortium, member: Member, served: str, log_key: NoteVerifier,
          client: MirrorClient) -> tuple[Checkpoint, Note, NoteVerifier]:
    """The served checkpoint under the log key (followed through announced key changes), with
    the witness lines that verify under the keys the consortium names for this log."""
    witnesses = [w.key for w in consortium.witnesses_for(member)]
    try:
        cp, note = open_checkpoint(served, log_key, witnesses)
        return cp, note, log_key
    except NoteError as e:
        followed = follow_log_key(log_key, served, client)
        if followed is None:
            raise Rejected(msg("aggregator.mirror.bad_checkpoint", member=member.name,
                               url=member.url, vkey=log_key.vkey, error=e)) from e
        log.warning("%s changed its log key: %s now signs for %s", member.name, followed.vkey,
                    log_key.vkey)
        cp, note = open_checkpoint(served, followed, witnesses)
        return cp, note, followed


def fetch_entries(client: MirrorClient, size: int, lo: int) -> list[bytes]:
    """Entries ``lo`` … ``size`` − 1 from the entry bundles of the tree of ``size`` (checked by
    the caller against the signed root before anything is kept)."""
    out: list[bytes] = []
    for n in range(lo // 256, (size + 255) // 256):
        tile = tile_for_tree(ENTRIES, n, size)
        assert tile is not None
        bundle = parse_entry_bundle(client.entry_bundle(tile), tile.width)
        out.extend(bundle[max(lo - tile.start, 0):])
    return out


def format_time_s(t: int) -> str:
    return format_time(datetime.fromtimestamp(t, UTC))


# --- every member, once or for ever ---------------------------------------------------------------


@dataclass(slots=True)
class RoundReport:
    """One round over every mirrored member."""

    outcomes: dict[str, MirrorOutcome] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    forks: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        members: dict[str, object] = {n: o.to_dict() for n, o in self.outcomes.items()}
        members.update({n: {"error": e} for n, e in self.failures.items()})
        members.update({n: {"fork": e} for n, e in self.forks.items()})
        return {"members": members, "forks": sorted(self.forks)}


def mirrored_members(consortium: Consortium, me: str | None) -> tuple[Member, ...]:
    """Every member but ``me`` (None: a verification body, which mirrors them all)."""
    return consortium.members if me is None else consortium.others(me)


def mirror_round(consortium: Consortium, me: str | None, state_dir: Path,
                 timeout_s: float = 10.0) -> RoundReport:
    report = RoundReport()
    for member in mirrored_members(consortium, me):
        try:
            report.outcomes[member.name] = mirror_once(
                consortium, member, MemberMirror(state_dir, member.name),
                MirrorClient(member.url, timeout_s))
        except LogMisbehaviour as e:
            log.critical("LOG MISBEHAVIOUR: %s", e)
            report.forks[member.name] = said("aggregator.as_is", error=e)
        except (AggregatorError, ProtocolError) as e:
            log.warning("mirroring %s failed: %s", member.name, e)
            report.failures[member.name] = said("aggregator.as_is", error=e)
        except Exception as e:  # noqa: BLE001 - the boundary: one member must not stop the rest
            log.exception("mirroring %s failed unexpectedly", member.name)
            report.failures[member.name] = said("aggregator.mirror.internal",
                                                kind=type(e).__name__, error=str(e))
    return report


def mirror_forever(consortium: Consortium, me: str | None, state_dir: Path,
                   stop: threading.Event, interval_s: float, timeout_s: float = 10.0) -> None:
    """Rounds every ``interval_s`` until ``stop``, telling systemd READY at once (a first copy
    of a large log may take longer than a start timeout) and WATCHDOG after each round (a round
    that ends, whatever it found, is a live mirror)."""
    sd_notify("READY=1")
    while not stop.is_set():
        report = mirror_round(consortium, me, state_dir, timeout_s)
        if report.forks:
            log.critical("forks recorded for %s: those logs are refused until dealt with",
                         ", ".join(sorted(report.forks)))
        sd_notify("WATCHDOG=1")
        stop.wait(interval_s)
    sd_notify("STOPPING=1")


__all__ = ["MirrorClient", "MirrorOutcome", "RoundReport",
           "fetch_entries", "mirror_forever", "mirror_once", "mirror_round", "mirrored_members"]
