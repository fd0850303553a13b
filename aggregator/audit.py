"""``ledger verify``: recompute everything from the stored entries and name what is wrong.

The only place that reads every leaf: each entry is replayed with the same rules as the
buyer's verifier (:class:`eco_protocol.replay.LedgerReplay`: signatures against enrolments,
seq/prev chains, plausibility), its stored leaf hash and every stored interior hash are
recomputed, every checkpoint the log signed is checked (signature, root at its size, the stored
consistency proof from its predecessor), and the device table is compared with what the replay
derived. By default the first problem raises; with ``all_problems`` the audit carries on and
returns every problem it found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.encoding import format_time
from eco_protocol.errors import InvalidInput
from eco_protocol.logkey import LogKeyChain, same_key
from eco_protocol.merkle import EMPTY_ROOT, leaf_hash, node_hash, verify_consistency
from eco_protocol.note import open_checkpoint
from eco_protocol.parallel import SignaturePool, default_workers
from eco_protocol.replay import EntryProblem, LedgerReplay

from .errors import StoreCorrupt
from .ledger import Ledger
from .progress import ProgressCallback, every


@dataclass(frozen=True, slots=True)
class AuditReport:
    size: int
    checkpoint_size: int | None
    counts: dict[str, int]
    devices: int
    root_hex: str
    checkpoints: int = 0
    problems: tuple[str, ...] = field(default=())
    excluded: dict[str, int] = field(default_factory=dict)  # non-creditable readings by rule


class _Problems:
    def __init__(self, keep_going: bool, pool: SignaturePool | None = None) -> None:
        self.keep_going = keep_going
        self.found: list[str] = []
        self.pool = pool

    def __call__(self, message: str) -> None:
        if not self.keep_going:
            raise StoreCorrupt(self._deferred_failure() or message)
        self.found.append(message)

    def check_deferred(self) -> None:
        """Raise the first bad signature the pool found, if any (fail-fast mode)."""
        failure = self._deferred_failure()
        if failure is not None:
            raise StoreCorrupt(failure)

    def _deferred_failure(self) -> str | None:
        """The lowest entry whose signature the pool found bad, worded as the inline check
        words it. Every entry handed to the pool precedes, or is, the one a problem was just
        found in, and a reading's signature is checked before its chain and plausibility, so
        this is the problem the one-process audit would have raised first."""
        failure = None if self.pool is None else self.pool.first_failure()
        return None if failure is None else f"ledger {EntryProblem(*failure)}"


PARALLEL_FROM = 20_000  # entries; below this a process pool costs more than it saves


def audit(ledger: Ledger, progress: ProgressCallback | None = None,
          all_problems: bool = False, workers: int | None = None,
          rules: CreditRules = DEFAULT_RULES) -> AuditReport:
    """``progress`` is called with ``("verify", done, size)`` as entries are replayed.

    ``workers``: processes that check the readings' signatures while this one replays (speed:
    :mod:`eco_protocol.parallel`); by default one fewer than the cores for a ledger of at least
    :data:`PARALLEL_FROM` entries. Not with ``all_problems``, where a bad entry's effects must
    be skipped before the next entry is replayed. The verdict, and the entry it names, are the
    same either way.
    """
    if workers is None:
        workers = default_workers() if ledger.store.size() >= PARALLEL_FROM else 0
    pool = SignaturePool(workers) if workers > 0 and not all_problems else None
    try:
        return _audit(ledger, progress, all_problems, pool, rules)
    finally:
        if pool is not None:
            pool.close()


def _audit(ledger: Ledger, progress: ProgressCallback | None, all_problems: bool,
           pool: SignaturePool | None, rules: CreditRules) -> AuditReport:
    store = ledger.store
    size = store.size()
    problem = _Problems(all_problems, pool)
    try:
        claimed = ledger.key_chain()  # what the store's meta says; the replay must agree
    except StoreCorrupt as e:
        problem(str(e))
        claimed = LogKeyChain((ledger.signer.verifier,))
    replay = LedgerReplay(claimed.genesis.public_key,
                          deferred=None if pool is None else pool.submit, rules=rules)
    stack: list[tuple[int, bytes]] = []
    checkpoints = store.checkpoints()
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    wanted = {c.size for c in checkpoints}

    def current_root() -> bytes:
        if not stack:
            return EMPTY_ROOT
        h = stack[-1][1]
        for _, left in reversed(stack[:-1]):
            h = node_hash(left, h)
        return h

    expected = 0
    for index, data in store.entries(0, size):
        if index != expected:
            problem(f"entries {expected}–{index - 1} are missing from the store")
            break
        expected += 1
        try:
            replay.add(data)
        except InvalidInput as e:
            problem(f"ledger {e}")
            replay.size = index + 1  # skip its effects and carry on with the next entry
        leaf = leaf_hash(data)
        if store.leaf(index) != leaf:
            problem(f"entry {index}: stored leaf hash does not match its bytes")
        level, i, h = 0, index, leaf
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            h = node_hash(left, h)
            level += 1
            i >>= 1
            try:
                stored = store.node(level, i)
            except StoreCorrupt as e:
                problem(str(e))
                continue
            if stored != h:
                problem(f"interior hash (level {level}, index {i}) is wrong; it covers "
                        f"entries {i << level}–{((i + 1) << level) - 1}")
        stack.append((level, h))
        if index + 1 in wanted:
            roots[index + 1] = current_root()
        every(progress, "verify", index + 1, size)
    problem.check_deferred()
    if expected != size:
        problem(f"store reports {size} entries but only {expected} were read")

    chain = replay.chain(claimed.genesis)
    if chain.vkeys() != claimed.vkeys() or chain.changed_at != claimed.changed_at:
        problem(f"the log's eco.logkey/v1 entries (at {list(chain.changed_at)}) do not match "
                f"the key changes the store lists (at {list(claimed.changed_at)})")
    previous = None
    for cp in checkpoints:
        where = f"checkpoint of size {cp.size} (signed {cp.signed_at})"
        try:
            checkpoint, _ = open_checkpoint(cp.note, chain.key_at(cp.size))
            if previous is not None and not same_key(chain.key_at(previous.size),
                                                     chain.key_at(cp.size)):
                # the checkpoint that ends a key change carries the old key's signature too
                open_checkpoint(cp.note, chain.key_at(previous.size))
        except InvalidInput as e:
            problem(f"{where}: {e}")
            previous = cp
            continue
        root = roots.get(cp.size)
        if root is None:
            problem(f"{where}: the store has only {size} entries")
        elif checkpoint.size != cp.size or checkpoint.root_hash != root or cp.root != root:
            problem(f"{where}: its root differs from the root recomputed from the entries")
        if previous is not None and previous.size > 0:
            try:
                verify_consistency(previous.size, cp.size, previous.root, cp.root, cp.proof)
            except InvalidInput as e:
                problem(f"{where}: the stored consistency proof from size {previous.size} "
                        f"fails: {e}")
        previous = cp

    for row in store.devices():
        state = replay.devices.get(row.device_id)  # type: ignore[call-overload]
        if state is None:
            problem(f"device table lists {row.device_id}, which has no enrolment entry")
        elif state.next_seq != row.next_seq or state.last_hash != row.last_hash:
            problem(f"device {row.device_id}: table says next seq {row.next_seq}, the log "
                    f"says {state.next_seq}")
    if store.get_meta("meter_cursors") is not None:
        # the intake judges creditability from these; they must be what the log implies
        for (device, meter), c in replay.credit.cursors.items():
            want = (format_time(c.end), c.register_end_wh)
            got = store.meter_cursor(device, meter)
            if got != want:
                problem(f"meter cursor of {device}/{meter}: the store says {got}, the log "
                        f"says {want}")
    latest = checkpoints[-1].size if checkpoints else None
    return AuditReport(size, latest, dict(replay.counts), len(replay.devices),
                       current_root().hex(), len(checkpoints), tuple(problem.found),
                       {r.value: n for r, n in sorted(replay.credit.excluded.items())})
