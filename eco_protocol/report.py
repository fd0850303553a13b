"""Offline verification of a J-Credit batch report (docs/protocol.md §5), for buyers and verifiers.

Trusts nothing but the pinned log key (and the witness keys the buyer chose). Every failure
raises :class:`ReportProblem` naming the field or entry; every success adds a line to the list of
checks that ``eco-verify`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .canonical import canonical_bytes, parse_json
from .claims import Claim, issued_by_reading, joined, net_of_issued
from .coverage import (
    EV,
    LedgerReading,
    covered_digest,
    covers,
    exclusion_totals,
    household_rows,
    select_covered,
)
from .creditability import CreditRules
from .dispatch import parse_record
from .encoding import b64decode, parse_time
from .errors import InvalidInput, ProofError
from .evidence import open_log_checkpoint, verify_evidence
from .keys import public_key_from_raw
from .logkey import LogKeyChain, LogKeyChange, chain_from_changes, same_key
from .merkle import leaf_hash, verify_inclusion
from .messages import msg, said
from .messages_rules import rule_counts
from .methodology import (
    HouseholdTerms,
    Methodology,
    fiscal_years_between,
    household_terms,
    month_reduction_g,
    seal_problems,
    zero_reason,
)
from .note import Checkpoint, NoteVerifier, parse_verifier_key
from .programme_records import BatchSeal, Period, Totals
from .records import Enrolment, Reading
from .sample import sample_positions
from .signing import entry_hash, verify_record

REPORT_TYPE = "eco.batch-report/v1"
REPORT_KEYS = {"type", "batch_id", "programme", "period", "methodology", "households", "totals",
               "exclusions", "certified_serials", "seal", "previous_seals", "sample",
               "enrolments", "checkpoint", "log_key", "sig"}
LOG_KEY_CHANGES = "log_key_changes"  # present only once the log has changed its key
DEMONSTRATION = "demonstration"  # present (true) only in a demonstration programme's report
HOUSEHOLD_KEYS = {"household", "devices", "readings", "zeroed_by", "flags", "months",
                  "reduction_g"}


class ReportProblem(InvalidInput):
    """The report fails a check; the message names the field or entry."""


@dataclass(frozen=True, slots=True)
class Proved:
    index: int
    entry: bytes
    record: Any


@dataclass
class ReportResult:
    checks: list[str] = field(default_factory=list)
    credits_t: int = 0
    reduction_g: int = 0
    households: int = 0
    sample: int = 0
    evidence_readings: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    demonstration: bool = False
    witnesses_signed: tuple[str, ...] = ()  # the known witnesses whose cosignatures verified


def _proved(item: object, what: str, cp: Checkpoint) -> Proved:
    if not isinstance(item, Mapping) or set(item) != {"index", "entry_b64", "proof_b64"}:
        raise ReportProblem.coded("eco_protocol.finding.report.proved_shape", what=what)
    index, proof = item["index"], item["proof_b64"]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < cp.size:
        raise ReportProblem.coded("eco_protocol.finding.report.index_range", what=what,
                                  index=repr(index), size=cp.size)
    if not isinstance(proof, list):
        raise ReportProblem.coded("eco_protocol.finding.report.proof_list", what=what)
    try:
        entry = b64decode(item["entry_b64"], f"{what}.entry_b64")
        hashes = [b64decode(h, f"{what}.proof_b64[]") for h in proof]
        verify_inclusion(index, cp.size, leaf_hash(entry), hashes, cp.root_hash)
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.report.inclusion",
                                  what=what, index=index, error=e) from e
    try:
        obj = parse_json(entry)
        if canonical_bytes(obj) != entry:
            raise ReportProblem.coded("eco_protocol.finding.report.not_canonical",
                                      what=what, index=index)
        return Proved(index, entry, parse_record(obj))
    except ReportProblem:
        raise
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.report.at",
                                  what=what, index=index, error=e) from e


def _key_chain(changes: object, pinned: NoteVerifier, report_key: NoteVerifier,
               cp: Checkpoint) -> LogKeyChain:
    """The log's keys from the report's proved ``log_key_changes``, trusting only ``pinned``."""
    if changes is None:
        return LogKeyChain((pinned,))
    if not isinstance(changes, list) or not changes:
        raise ReportProblem.coded("eco_protocol.finding.report.key_changes_list")
    proved = [_proved(item, f"{LOG_KEY_CHANGES}[{i}]", cp) for i, item in enumerate(changes)]
    for i, p in enumerate(proved):
        if not isinstance(p.record, LogKeyChange):
            raise ReportProblem.coded("eco_protocol.finding.report.not_logkey", i=i, index=p.index)
    try:
        chain = chain_from_changes(pinned, [(p.index, parse_json(p.entry)) for p in proved])
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.report.key_changes", error=e) from e
    if not same_key(chain.key_at(cp.size), report_key):
        raise ReportProblem.coded("eco_protocol.finding.report.chain_end", named=report_key.vkey,
                                  end=chain.key_at(cp.size).vkey)
    return chain


def _log_signed(p: Proved, chain: LogKeyChain, what: str) -> None:
    try:
        verify_record(parse_json(p.entry), chain.key_at(p.index).public_key, what)
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.report.at",
                                  what=what, index=p.index, error=e) from e


def verify_report(report: object, log_vkey: str, witness_vkeys: Sequence[str] = (),
                  min_witnesses: int = 0,
                  evidence: tuple[str, Iterable[str]] | None = None) -> ReportResult:
    """Check a report; ``evidence`` = (checkpoint text, entries.jsonl lines) for a full check.

    The checks run in this order, each section a function below; the first failure raises."""
    res = ReportResult()
    report = _check_document(report)
    cp, log, chain = _check_log_key(report, log_vkey, witness_vkeys, min_witnesses, res)
    seal_p, totals = _check_seal(report, cp, chain, res)
    seal: BatchSeal = seal_p.record
    _check_previous_seals(report, cp, chain, seal_p, totals, res)
    enrol = _check_enrolments(report, cp, chain, seal_p.index, res)
    method, rules = _check_rules(report, seal, res)
    households = _check_households(report, enrol, seal, totals, method, rules, res)
    _check_sample(report, households, cp, enrol, seal_p, res)
    if evidence is not None:
        _check_evidence(res, evidence, cp, seal, seal_p.index, report, method, rules, log_vkey,
                        witness_vkeys, chain.vkeys() if len(chain.keys) > 1 else [])
    return res


def _check_document(report: object) -> dict[str, Any]:
    """The report's type and its exact set of fields."""
    if not isinstance(report, dict) or report.get("type") != REPORT_TYPE:
        raise ReportProblem.coded("eco_protocol.finding.report.not_report", type=REPORT_TYPE)
    missing = REPORT_KEYS - set(report)
    extra = set(report) - REPORT_KEYS - {LOG_KEY_CHANGES, DEMONSTRATION}
    if missing or extra:
        raise ReportProblem.coded("eco_protocol.finding.report.fields",
                                  missing=str(sorted(missing)),
                                  unknown=str(sorted(extra)))
    return report


def _check_log_key(report: Mapping[str, Any], log_vkey: str, witness_vkeys: Sequence[str],
                  min_witnesses: int, res: ReportResult
                  ) -> tuple[Checkpoint, NoteVerifier, LogKeyChain]:
    """The log key (pinned, or reached from it by proved key changes), the checkpoint it signed
    and the report's own signature: (checkpoint, the report's log key, the key chain)."""
    try:
        pinned = parse_verifier_key(log_vkey.strip())
        report_key = parse_verifier_key(str(report["log_key"]).strip())
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.field", field="log_key", error=e) from e
    changes = report.get(LOG_KEY_CHANGES)
    if changes is None and not same_key(report_key, pinned):
        raise ReportProblem.coded("eco_protocol.finding.report.other_key")
    try:
        cp, log, witnesses = open_log_checkpoint(str(report["checkpoint"]), report_key.vkey,
                                                 witness_vkeys, min_witnesses)
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.field", field="checkpoint",
                                  error=e) from e
    res.checks.append(said("eco_protocol.check.checkpoint", size=cp.size,
                           witnesses=", ".join(witnesses) or msg("eco_protocol.verify.none")))
    res.witnesses_signed = witnesses
    chain = _key_chain(changes, pinned, report_key, cp)
    if len(chain.keys) > 1:
        res.checks.append(said("eco_protocol.check.key_changes", n=len(chain.keys) - 1))
    try:
        verify_record(report, log.public_key, msg("eco_protocol.finding.what.report"))
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.field", field="sig", error=e) from e
    res.checks.append(said("eco_protocol.check.report_signature"))
    return cp, log, chain


def _check_seal(report: Mapping[str, Any], cp: Checkpoint, chain: LogKeyChain,
               res: ReportResult) -> tuple[Proved, Totals]:
    """The seal and what it says: proved, signed, and matching the report's batch, programme,
    period and totals."""
    seal_p = _proved(report["seal"], "seal", cp)
    if not isinstance(seal_p.record, BatchSeal):
        raise ReportProblem.coded("eco_protocol.finding.report.not_seal", index=seal_p.index)
    _log_signed(seal_p, chain, "seal")
    seal: BatchSeal = seal_p.record
    try:
        period = Period.from_dict(report["period"])
        totals = Totals.from_dict(report["totals"])
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.as_is", error=e) from e
    for name, ours, sealed in (("batch_id", report["batch_id"], seal.batch_id),
                               ("programme", report["programme"], seal.programme),
                               ("period", period, seal.period), ("totals", totals, seal.totals)):
        if ours != sealed:
            raise ReportProblem.coded("eco_protocol.finding.report.seal_differs",
                                      name=name, ours=ours,
                                      index=seal_p.index, sealed=sealed)
    res.checks.append(said("eco_protocol.check.seal", index=seal_p.index))
    return seal_p, totals


def _check_previous_seals(report: Mapping[str, Any], cp: Checkpoint, chain: LogKeyChain,
                         seal_p: Proved, totals: Totals, res: ReportResult) -> None:
    """Previous seals: no overlap, and the carry-in follows the last one's carry-over."""
    seal: BatchSeal = seal_p.record
    prev = report["previous_seals"]
    if not isinstance(prev, list):
        raise ReportProblem.coded("eco_protocol.finding.report.not_list", key="previous_seals")
    last_prev: tuple[int, BatchSeal] | None = None
    for i, item in enumerate(prev):
        p = _proved(item, f"previous_seals[{i}]", cp)
        if not isinstance(p.record, BatchSeal) or not p.record.competes_with(seal):
            raise ReportProblem.coded("eco_protocol.finding.report.prev_other", i=i,
                                      programme=seal.programme, methodology=seal.methodology
                                      or msg("eco_protocol.finding.report.all_quantities"))
        _log_signed(p, chain, f"previous_seals[{i}]")
        if p.index >= seal_p.index:
            raise ReportProblem.coded("eco_protocol.finding.report.prev_after", i=i, index=p.index)
        if p.record.period.overlaps(seal.period):
            raise ReportProblem.coded("eco_protocol.finding.report.overlap",
                                      batch=p.record.batch_id,
                                      start=p.record.period.start, end=p.record.period.end)
        # the carry-over runs within one methodology
        if p.record.methodology == seal.methodology and (
                last_prev is None or p.index > last_prev[0]):
            last_prev = (p.index, p.record)
    expected_carry = last_prev[1].totals.carry_over_g if last_prev else 0
    if totals.carry_in_g != expected_carry:
        raise ReportProblem.coded("eco_protocol.finding.report.carry_in",
                                  got=totals.carry_in_g, want=expected_carry)
    res.checks.append(said("eco_protocol.check.previous_seals", n=len(prev),
                           carry_in=totals.carry_in_g))


def _check_enrolments(report: Mapping[str, Any], cp: Checkpoint, chain: LogKeyChain,
                     seal_index: int, res: ReportResult) -> dict[str, Enrolment]:
    """Enrolments: proved, signed by the log key and before the seal; by device id."""
    enrol: dict[str, Enrolment] = {}
    for i, item in enumerate(_list(report, "enrolments")):
        p = _proved(item, f"enrolments[{i}]", cp)
        if not isinstance(p.record, Enrolment):
            raise ReportProblem.coded("eco_protocol.finding.report.not_enrolment", i=i,
                                      index=p.index)
        _log_signed(p, chain, f"enrolments[{i}]")
        if p.index >= seal_index:
            raise ReportProblem.coded("eco_protocol.finding.report.enrolment_after", i=i,
                                      index=p.index)
        enrol[p.record.device_id] = p.record
    res.checks.append(said("eco_protocol.check.enrolments", n=len(enrol)))
    return enrol


def _check_rules(report: Mapping[str, Any], seal: BatchSeal,
                res: ReportResult) -> tuple[Methodology, CreditRules]:
    """The methodology, the programme's rules, and whether its factors may be certified."""
    try:
        method = Methodology.from_dict(report["methodology"])
        rules = CreditRules.from_dict(report["methodology"].get("rules"))
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.report.methodology", error=e) from e
    if rules.demonstration != (report.get(DEMONSTRATION) is True) or \
            report.get(DEMONSTRATION) not in (None, True):
        raise ReportProblem.coded("eco_protocol.finding.report.demonstration")
    unfit = seal_problems(method, rules,
                          fiscal_years_between(seal.period.start_dt, seal.period.end_dt))
    if unfit:
        raise ReportProblem.coded("eco_protocol.finding.report.unfit", problems=joined(unfit))
    res.demonstration = rules.demonstration
    res.checks.append(said("eco_protocol.check.rules_demonstration" if rules.demonstration
                           else "eco_protocol.check.rules_published"))
    return method, rules


def _check_households(report: Mapping[str, Any], enrol: Mapping[str, Enrolment], seal: BatchSeal,
                     totals: Totals, method: Methodology, rules: CreditRules,
                     res: ReportResult) -> list[Any]:
    """Each household's counts, zeroing, flags and month arithmetic recomputed; the totals and
    exclusions add up. Returns the report's household list."""
    households = _list(report, "households")
    by_hh: dict[str, list[Enrolment]] = {}
    for en in enrol.values():
        by_hh.setdefault(en.household, []).append(en)
    total = 0
    months_checked = 0
    excluded_sum: dict[str, int] = {}
    for i, hh in enumerate(households):
        hh_total, months = _check_household(hh, f"households[{i}]", enrol, by_hh, seal, method,
                                           rules, excluded_sum)
        total += hh_total
        months_checked += months
    if total != totals.reduction_g:
        raise ReportProblem.coded("eco_protocol.finding.report.reduction",
                                  got=totals.reduction_g, total=total)
    if report["exclusions"] != dict(sorted(excluded_sum.items())):
        raise ReportProblem.coded("eco_protocol.finding.report.exclusions",
                                  said=report["exclusions"],
                                  sum=dict(sorted(excluded_sum.items())))
    res.excluded = dict(sorted(excluded_sum.items()))
    res.checks.append(said("eco_protocol.check.exclusions",
                           excluded=rule_counts(res.excluded) or msg("eco_protocol.verify.none")))
    res.checks.append(said("eco_protocol.check.arithmetic", households=len(households),
                           months=months_checked, total=total, credits=totals.credits_t,
                           carry_over=totals.carry_over_g))
    res.households, res.reduction_g, res.credits_t = len(households), total, totals.credits_t
    return households


def _check_household(hh: object, w: str, enrol: Mapping[str, Enrolment],
                    by_hh: Mapping[str, list[Enrolment]], seal: BatchSeal, method: Methodology,
                    rules: CreditRules, excluded_sum: dict[str, int]) -> tuple[int, int]:
    """One household row (``w`` names it): (its reduction in grams, its month count). Adds its
    exclusion counts to ``excluded_sum``."""
    if not isinstance(hh, Mapping):
        raise ReportProblem.coded("eco_protocol.finding.report.hh_object", w=w)
    if set(hh) != HOUSEHOLD_KEYS:
        raise ReportProblem.coded("eco_protocol.finding.report.hh_fields", w=w,
                                  want=str(sorted(HOUSEHOLD_KEYS)), got=str(sorted(hh)))
    hh_name = str(hh.get("household"))
    for dev in hh.get("devices", []):
        de = enrol.get(dev)
        if de is None or de.household != hh_name or de.programme != seal.programme:
            raise ReportProblem.coded("eco_protocol.finding.report.hh_device", w=w, device=dev,
                                      household=hh_name, programme=seal.programme)
    terms = household_terms(by_hh.get(hh_name, []))
    _check_counts(hh["readings"], f"{w}.readings", excluded_sum)
    zero = None if seal.methodology == EV else zero_reason(terms, rules)
    if hh["zeroed_by"] != zero:
        raise ReportProblem.coded("eco_protocol.finding.report.hh_differs", field=f"{w}.zeroed_by",
                                  said=repr(hh["zeroed_by"]), want=repr(zero))
    flags = [] if seal.methodology == EV else terms.flags(rules)
    if hh["flags"] != flags:
        raise ReportProblem.coded("eco_protocol.finding.report.hh_differs",
                                  field=f"{w}.flags", said=repr(hh["flags"]),
                                  want=repr(flags))
    months = hh.get("months", [])
    hh_total = sum(_check_month(m, f"{w}.months[{j}]", terms, method, rules)
                   for j, m in enumerate(months))
    if hh.get("reduction_g") != hh_total:
        raise ReportProblem.coded("eco_protocol.finding.report.hh_reduction",
                                  w=w, got=hh.get("reduction_g"),
                                  total=hh_total)
    return hh_total, len(months)


def _check_month(m: Any, w: str, terms: HouseholdTerms, method: Methodology,
                rules: CreditRules) -> int:
    """One household-month (``w`` names it): its reduction recomputed from its energy figures."""
    try:
        want = month_reduction_g(m["month"], m["energy_wh"], terms, method, rules)
    except (KeyError, TypeError) as e:
        raise ReportProblem.coded("eco_protocol.finding.report.month_malformed", w=w,
                                  error=repr(e)) from e
    except InvalidInput as e:
        raise ReportProblem.coded("eco_protocol.finding.field", field=w, error=e) from e
    if m.get("reduction_g") != want:
        raise ReportProblem.coded("eco_protocol.finding.report.month_reduction",
                                  w=w, month=m["month"],
                                  got=m.get("reduction_g"), want=want)
    sc = m["energy_wh"].get("self_consumed", 0)
    if sc > m["energy_wh"].get("pv_generation", 0) or sc < 0:
        raise ReportProblem.coded("eco_protocol.finding.report.self_consumed", w=w)
    return want


def _check_sample(report: Mapping[str, Any], households: Sequence[Any], cp: Checkpoint,
                 enrol: Mapping[str, Enrolment], seal_p: Proved, res: ReportResult) -> None:
    """The sample: proved readings, signed by their enrolled devices, covered by the batch,
    chained where consecutive, and every household drawn."""
    seal: BatchSeal = seal_p.record
    names = {hh["household"] for hh in households}
    sample = _list(report, "sample")
    sampled_hh: set[str] = set()
    by_dev: dict[str, dict[int, tuple[Reading, bytes]]] = {}
    for i, item in enumerate(sample):
        w = f"sample[{i}]"
        p = _proved(item, w, cp)
        r = p.record
        if not isinstance(r, Reading):
            raise ReportProblem.coded("eco_protocol.finding.report.not_reading", w=w, index=p.index)
        re_ = enrol.get(r.device_id)
        if re_ is None:
            raise ReportProblem.coded("eco_protocol.finding.report.no_enrolment",
                                      w=w, index=p.index,
                                      device=r.device_id)
        try:
            verify_record(parse_json(p.entry), public_key_from_raw(re_.public_key_raw),
                          msg("eco_protocol.finding.what.reading", device=r.device_id,
                              seq=r.seq))
        except InvalidInput as ex:
            raise ReportProblem.coded("eco_protocol.finding.report.at", what=w,
                                      index=p.index, error=ex) from ex
        if p.index >= seal_p.index or not seal.period.contains(r.start_dt, r.end_dt) or \
                not covers(seal.methodology, r.quantity):
            raise ReportProblem.coded("eco_protocol.finding.report.not_covered", w=w, index=p.index)
        sampled_hh.add(re_.household)
        by_dev.setdefault(r.device_id, {})[r.seq] = (r, p.entry)
    for dev, seqs in by_dev.items():
        for seq, (r, _) in seqs.items():
            before = seqs.get(seq - 1)
            if before is not None and r.prev != entry_hash(before[1]):
                raise ReportProblem.coded("eco_protocol.finding.report.chain",
                                          device=dev, seq=seq, prev=seq - 1)
    s = min(seal.covered_count, max(30, len(names)))
    if not s <= len(sample) <= s + len(names) or not names <= sampled_hh:
        raise ReportProblem.coded("eco_protocol.finding.report.sample_size",
                                  n=len(sample), hh=len(sampled_hh),
                                  of=len(names), s=s)
    res.sample = len(sample)
    res.checks.append(said("eco_protocol.check.sample", n=len(sample)))


def _check_counts(counts: object, what: str, into: dict[str, int]) -> None:
    """``{"covered", "creditable", "excluded": {rule: n}}`` must add up; adds to ``into``."""
    if not isinstance(counts, Mapping) or set(counts) != {"covered", "creditable", "excluded"}:
        raise ReportProblem.coded("eco_protocol.finding.report.counts_shape", what=what)
    excluded = counts["excluded"]
    nums = [counts["covered"], counts["creditable"],
            *(excluded.values() if isinstance(excluded, Mapping) else [None])]
    if not isinstance(excluded, Mapping) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in nums):
        raise ReportProblem.coded("eco_protocol.finding.report.counts_int", what=what)
    if counts["creditable"] + sum(excluded.values()) != counts["covered"]:
        raise ReportProblem.coded("eco_protocol.finding.report.counts",
                                  what=what, creditable=counts["creditable"],
                                  excluded=sum(excluded.values()), covered=counts["covered"])
    for rule, n in excluded.items():
        into[str(rule)] = into.get(str(rule), 0) + n


def _list(report: Mapping[str, Any], key: str) -> list[Any]:
    v = report[key]
    if not isinstance(v, list):
        raise ReportProblem.coded("eco_protocol.finding.report.not_list", key=key)
    return v


def _check_evidence(res: ReportResult, evidence: tuple[str, Iterable[str]], cp: Checkpoint,
                    seal: BatchSeal, seal_index: int, report: Mapping[str, Any],
                    method: Methodology, rules: CreditRules, log_vkey: str,
                    witness_vkeys: Sequence[str], log_history: Sequence[str]) -> None:
    checkpoint_text, lines = evidence
    # the entries and records as the replay decoded them, each line parsed once (speed)
    entries: list[tuple[bytes, Any]] = []

    def keep(_index: int, entry: bytes, record: Any) -> None:
        entries.append((entry, record))

    try:
        summary = verify_evidence(checkpoint_text, log_vkey, witness_vkeys, lines,
                                  on_entry=keep, log_history=log_history, rules=rules)
    except InvalidInput as err:
        raise ReportProblem.coded("eco_protocol.finding.field", field="evidence",
                                  error=err) from err
    if (summary.checkpoint.size, summary.checkpoint.root_hash) != (cp.size, cp.root_hash):
        raise ReportProblem.coded("eco_protocol.finding.report.ev_checkpoint",
                                  size=summary.checkpoint.size,
                                  report=cp.size)
    res.checks.append(said("eco_protocol.check.evidence_replayed", entries=summary.entries))
    enrol: dict[str, Enrolment] = {}
    readings: list[LedgerReading] = []
    for index, (data, rec) in enumerate(entries):
        if isinstance(rec, Enrolment):
            enrol[rec.device_id] = rec
        elif isinstance(rec, Reading):
            hh = enrol[rec.device_id].household
            readings.append(LedgerReading(index, rec.device_id, hh, rec.quantity,
                                          parse_time(rec.start, "start"),
                                          parse_time(rec.end, "end"), rec.energy_wh,
                                          leaf_hash(data), summary.exclusions.get(index)))
    covered = select_covered(readings, {d: e.programme for d, e in enrol.items()},
                             seal.programme, seal.period, seal_index, seal.methodology)
    if len(covered) != seal.covered_count or covered_digest(covered) != seal.covered_digest:
        raise ReportProblem.coded("eco_protocol.finding.report.ev_covered",
                                  n=len(covered), count=seal.covered_count)
    by_hh: dict[str, list[Enrolment]] = {}
    for en in enrol.values():
        by_hh.setdefault(en.household, []).append(en)
    # a reading's Wh issued as certificates before the seal are not the batch's (issue 19)
    issued = issued_by_reading(((i, rec) for i, (_, rec) in enumerate(entries)
                                if isinstance(rec, Claim)), seal_index)
    rows = household_rows(net_of_issued(covered, issued),
                          lambda hh: household_terms(by_hh.get(hh, [])), method, rules,
                          seal.methodology)
    if rows != report["households"]:
        for ours, theirs in zip(rows, report["households"], strict=False):
            if ours != theirs:
                fields = sorted(k for k in ours if ours.get(k) != theirs.get(k))
                raise ReportProblem.coded("eco_protocol.finding.report.ev_household",
                                          household=ours["household"],
                                          fields=fields)
        raise ReportProblem.coded("eco_protocol.finding.report.ev_households")
    if exclusion_totals(covered) != report["exclusions"]:
        raise ReportProblem.coded("eco_protocol.finding.report.ev_exclusions")
    positions = sample_positions(cp.root_hash, [r.household for r in covered])
    want = [covered[p].index for p in positions]
    got = [item["index"] for item in report["sample"]]
    if want != got:
        raise ReportProblem.coded("eco_protocol.finding.report.ev_sample",
                                  want=str(want[:5]), got=str(got[:5]))
    res.evidence_readings = len(covered)
    res.checks.append(said("eco_protocol.check.evidence_covered", n=len(covered)))


__all__ = ["ProofError", "ReportProblem", "ReportResult", "verify_report"]
