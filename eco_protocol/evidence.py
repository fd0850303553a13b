"""Offline verification of an evidence directory (docs/protocol.md §5, ``evidence/``).

Anyone holding only the log's verifier key can check: the checkpoint's signatures (and k of n
witnesses); the chain of log keys when the log changed its key (``log.vkeys``: every key the log
has had, oldest first; the pinned key may be any of them, :mod:`logkey`); that ``entries.jsonl``
reproduces the checkpoint's root under RFC 6962 hashing; and that every entry replays
(signatures, enrolment order, seq/prev chains, plausibility). Pure: the caller hands in the file
contents; :mod:`eco_protocol.verify_cli` does the reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .canonical import parse_json
from .creditability import DEFAULT_RULES, CreditRules
from .dispatch import AnyRecord
from .encoding import b64decode
from .errors import InvalidInput, MalformedRecord, NoteError, ProofError
from .logkey import LogKeyChain, same_key
from .merkle import StreamingRoot, leaf_hash
from .messages import msg
from .note import (
    Checkpoint,
    NoteVerifier,
    open_checkpoint,
    parse_verifier_key,
    parse_witness_key,
)
from .parallel import SignaturePool, default_workers
from .replay import EntryProblem, LedgerReplay


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    checkpoint: Checkpoint
    witnesses_signed: tuple[str, ...]
    entries: int
    counts: dict[str, int]
    devices: int
    energy_wh: dict[str, int]
    readings_per_device: dict[str, int]
    log_keys: LogKeyChain  # the keys the replay authenticated, from the first one it was given
    # entry index → the creditability rule that reading breaks (only non-creditable readings),
    # judged under the rules the caller gave (a report's own, or the defaults)
    exclusions: dict[int, str] = field(default_factory=dict)

    @property
    def excluded(self) -> dict[str, int]:
        """Non-creditable readings by rule."""
        out: dict[str, int] = {}
        for rule in self.exclusions.values():
            out[rule] = out.get(rule, 0) + 1
        return dict(sorted(out.items()))

EntryCallback = Callable[[int, bytes, AnyRecord], None]


def open_log_checkpoint(checkpoint_text: str, log_vkey: str, witness_vkeys: Sequence[str],
                        min_witnesses: int) -> tuple[Checkpoint, NoteVerifier, tuple[str, ...]]:
    log = parse_verifier_key(log_vkey)
    # witness keys: cosignature/v1 (c2sp.org/tlog-cosignature, type 0x04) or plain Ed25519
    witnesses = [parse_witness_key(w) for w in witness_vkeys if w.strip()]
    cp, note = open_checkpoint(checkpoint_text, log, witnesses)
    signed = tuple(sorted({s.name for s in note.sigs if s.name != log.name}))
    if len(signed) < min_witnesses:
        raise NoteError.coded("eco_protocol.finding.note.few_witnesses", n=len(signed),
                              required=min_witnesses)
    return cp, log, signed


def parse_entry_line(line: str, expected_index: int) -> bytes:
    """One ``entries.jsonl`` line: ``{"index": i, "entry_b64": "..."}``."""
    try:
        obj = parse_json(line)
    except MalformedRecord as e:
        raise EntryProblem(expected_index, msg("eco_protocol.finding.ev.not_json", error=e)) from e
    if not isinstance(obj, dict) or set(obj) != {"index", "entry_b64"}:
        raise EntryProblem(expected_index, msg("eco_protocol.finding.ev.line_shape"))
    if obj["index"] != expected_index:
        raise EntryProblem(expected_index, msg("eco_protocol.finding.ev.line_index",
                                               got=obj["index"], want=expected_index))
    try:
        return b64decode(obj["entry_b64"], "entry_b64")
    except MalformedRecord as e:
        raise EntryProblem(expected_index, e) from e


PARALLEL_FROM = 20_000  # entries; below this a process pool costs more than it saves


def verify_evidence(checkpoint_text: str, log_vkey: str, witness_vkeys: Sequence[str],
                    entry_lines: Iterable[str], min_witnesses: int = 0,
                    on_entry: EntryCallback | None = None,
                    workers: int | None = None,
                    log_history: Sequence[str] = (),
                    rules: CreditRules | None = None) -> EvidenceSummary:
    """Verify everything in an evidence directory; raise naming the first bad entry or field.

    ``on_entry(index, entry, record)`` sees each entry once it has replayed, so a caller that
    needs the records too (the report check) does not decode and parse every line again.

    ``workers``: processes that check the readings' signatures while this one replays (speed:
    :mod:`eco_protocol.parallel`); by default one fewer than the cores when the checkpoint has
    at least :data:`PARALLEL_FROM` entries. The verdict and the entry it names are the same.

    ``log_vkey`` is the key the caller pinned. ``log_history`` (the directory's ``log.vkeys``) names
    every key the log has had, oldest first, when it changed its key: the replay starts from the
    first, must authenticate every change in the entries (:mod:`logkey`) to arrive at exactly
    that list, and the pinned key must be one of them. It is a hint the entries must confirm,
    never a source of trust.

    ``rules``: the programme's crediting rules under which each reading's creditability is
    judged (a report carries its own; without one, the protocol's defaults). Without them a
    claim (``eco.claim/v1``) is still refused when it claims a Wh twice, but not for naming a
    reading the defaults would exclude: the programme's own rules may credit it."""
    pinned = parse_verifier_key(log_vkey)
    history = [parse_verifier_key(v) for v in log_history if v.strip()]
    genesis = history[0] if history else pinned
    final = history[-1] if history else pinned
    cp, log, signed = open_log_checkpoint(checkpoint_text, final.vkey, witness_vkeys,
                                          min_witnesses)
    if workers is None:
        workers = default_workers() if cp.size >= PARALLEL_FROM else 0
    pool = SignaturePool(workers) if workers > 0 else None
    try:
        summary = _replay_lines(cp, genesis, signed, entry_lines, on_entry, pool,
                                rules or DEFAULT_RULES, rules is not None)
    finally:
        if pool is not None:
            pool.close()
    chain = summary.log_keys
    if history and chain.vkeys() != [k.vkey for k in history]:
        raise NoteError.coded("eco_protocol.finding.ev.vkeys",
                              listed=str([k.vkey for k in history]), own=str(chain.vkeys()))
    if chain.position(pinned) is None:
        raise NoteError.coded("eco_protocol.finding.ev.pinned_not_in_chain", pinned=pinned.vkey,
                              keys=", ".join(chain.vkeys()))
    if not same_key(chain.key_at(cp.size), log):
        raise NoteError.coded("eco_protocol.finding.ev.signed_by_other", signer=log.vkey,
                              size=cp.size, key=chain.key_at(cp.size).vkey)
    return summary


def _first_bad_signature(pool: SignaturePool | None) -> EntryProblem | None:
    """The lowest entry whose signature the pool found bad, as the inline check words it: every
    entry handed to the pool precedes, or is, the one any other problem is found in, and a
    reading's signature is checked before its chain and plausibility."""
    failure = None if pool is None else pool.first_failure()
    return None if failure is None else EntryProblem(*failure)


def _replay_lines(cp: Checkpoint, log: NoteVerifier, signed: tuple[str, ...],
                  entry_lines: Iterable[str], on_entry: EntryCallback | None,
                  pool: SignaturePool | None, rules: CreditRules,
                  claims_strict: bool) -> EvidenceSummary:
    replay = LedgerReplay(log.public_key, deferred=None if pool is None else pool.submit,
                          rules=rules, claims_strict=claims_strict)
    tree = StreamingRoot()
    per_device: dict[str, int] = {}
    try:
        for i, line in enumerate(entry_lines):
            if i >= cp.size:
                raise EntryProblem(i, msg("eco_protocol.finding.ev.too_many", size=cp.size))
            entry = parse_entry_line(line, i)
            tree.append(leaf_hash(entry))
            record = replay.add(entry)
            if on_entry is not None:
                on_entry(i, entry, record)
            dev = getattr(record, "device_id", None)
            if record.__class__.__name__ == "Reading" and dev is not None:
                per_device[dev] = per_device.get(dev, 0) + 1
    except InvalidInput as e:
        bad = _first_bad_signature(pool)
        if bad is None:
            raise
        raise bad from e
    bad = _first_bad_signature(pool)
    if bad is not None:
        raise bad
    if tree.size != cp.size:
        raise ProofError.coded("eco_protocol.finding.ev.count", n=tree.size, size=cp.size)
    if tree.root() != cp.root_hash:
        raise ProofError.coded("eco_protocol.finding.ev.root")
    return EvidenceSummary(cp, signed, tree.size, dict(replay.counts), len(replay.devices),
                           dict(replay.energy_wh), per_device, replay.chain(log),
                           {i: e.rule.value for i, e in replay.exclusions.items()})


__all__ = ["EvidenceSummary", "InvalidInput", "open_log_checkpoint", "parse_entry_line",
           "verify_evidence"]
