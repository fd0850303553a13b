"""The consortium audit: every claim token that was ever held by two live enrolments at once.

The enrol-time look-up (:mod:`aggregator.equipment_claims`) refuses what it can see, but two
towns enrolling one inverter before either's mirror has the other's enrolment (a race), or an
enrolment made while a mirror lagged, get past it. This audit reads every member's log — this
town's own and the mirrors — and lists each pair of enrolments carrying one token whose live
spans overlapped, with whether it is still **unresolved** (both live now).

Order across logs comes from the witnesses, not from the logs' own clocks: an entry counts from
the first checkpoint including it that the consortium's quorum cosigned (the k-th cosignature
timestamp, verified under the consortium's keys), so a town cannot back-date an enrolment to win
a race. Within one log the entry order decides. An entry no quorum has cosigned yet counts as
after everything witnessed (and is marked so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eco_protocol.claim_tokens import ClaimToken
from eco_protocol.consortium import Consortium
from eco_protocol.encoding import parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import msg, said
from eco_protocol.messages_rules import equipment_name, jst
from eco_protocol.note import CosignatureVerifier, cosignature_time, open_checkpoint
from eco_protocol.witness_policy import quorum_of

from .claim_settings import ClaimSettings
from .equipment_claims import Holding, holdings, load_consortium_file, member_stores
from .errors import EnvironmentProblem
from .http_api import cosigned_note
from .mirror_store import MemberMirror
from .store import LedgerStore

NOT_WITNESSED = float("inf")


def published_times(consortium: Consortium, store: LedgerStore) -> list[tuple[int, float]]:
    """(size, when the quorum had cosigned it) for each stored checkpoint that reached the
    quorum, by size; the time is the quorum-th earliest counted cosignature's timestamp."""
    out: list[tuple[int, float]] = []
    for row in store.checkpoints():
        text = cosigned_note(store, row)
        try:
            q = quorum_of(consortium, text)
            if not q.reached:
                continue
            _, note = open_checkpoint(text, q.member.log_key,
                                      [consortium.witness(n).key for n in q.eligible])
        except InvalidInput:
            continue  # not this consortium's, or a line that does not verify: not published
        timed = {n for n in q.cosigned
                 if isinstance(consortium.witness(n).key, CosignatureVerifier)}
        times = sorted(cosignature_time(s) for s in note.sigs if s.name in timed)
        # plain Ed25519 witness lines carry no time: then the log's own signing time
        if len(times) >= q.required:
            out.append((row.size, float(times[q.required - 1])))
            continue
        with contextlib.suppress(InvalidInput):
            out.append((row.size, parse_time(row.signed_at, "signed_at").timestamp()))
    return out


def witnessed_at(published: Sequence[tuple[int, float]], index: int) -> float:
    """When entry ``index`` was first in a published checkpoint (the earliest such time)."""
    return min((t for size, t in published if size > index), default=NOT_WITNESSED)


@dataclass(frozen=True, slots=True)
class Span:
    """One enrolment's hold on one token, from its witnessed enrolment to its witnessed
    revocation (None: still live)."""

    holding: Holding
    start: float
    end: float | None

    def key(self) -> tuple[float, str, int]:
        return (self.start, self.holding.member, self.holding.index)

    def to_dict(self) -> dict[str, Any]:
        h = self.holding
        return {"member": h.member, "device_id": h.device_id, "household": h.household,
                "enrolled_at": h.enrolled_at, "index": h.index, "live": h.live,
                "witnessed": _when(self.start),
                "revoked_index": h.revoked_index}


def _when(t: float | None) -> str | None:
    if t is None or t == NOT_WITNESSED:
        return None
    return jst(datetime.fromtimestamp(t, UTC))


def _overlap(first: Span, second: Span) -> bool:
    """Did ``first`` (the earlier) still hold the token when ``second`` took it?"""
    a, b = first.holding, second.holding
    if a.revoked_index is None:
        return True
    if a.member == b.member:
        return a.revoked_index > b.index
    return first.end is None or first.end > second.start


def double_claims(spans: Iterable[Span]) -> list[dict[str, Any]]:
    """Each pair of spans of one token that overlapped, earlier holder first."""
    by_token: dict[ClaimToken, list[Span]] = {}
    for s in spans:
        by_token.setdefault(s.holding.token, []).append(s)
    found: list[dict[str, Any]] = []
    for token, group in sorted(by_token.items()):
        group.sort(key=Span.key)
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                if first.holding.device_id == second.holding.device_id and \
                        first.holding.member == second.holding.member:
                    continue
                if _overlap(first, second):
                    found.append({
                        "kind": token.kind.value, "token": token.token,
                        "unresolved": first.holding.live and second.holding.live,
                        "across_members": first.holding.member != second.holding.member,
                        "first": first.to_dict(), "second": second.to_dict()})
    return found


def spans_of(consortium: Consortium | None, member: str, store: LedgerStore) -> list[Span]:
    published = published_times(consortium, store) if consortium is not None else []
    out: list[Span] = []
    for h in holdings(store, member):
        start = witnessed_at(published, h.index) if published else float(h.index)
        end = None
        if h.revoked_index is not None:
            end = witnessed_at(published, h.revoked_index) if published \
                else float(h.revoked_index)
        out.append(Span(h, start, end))
    return out


def audit_sources(consortium: Consortium, mirrors: Path, member: str | None,
                  own: LedgerStore | None) -> Iterator[tuple[str, LedgerStore, bool]]:
    """(member, store, whether to close it): ``own`` as ``member``'s log, and the mirror of
    every other member (every member's, for the verification body: no ``member``). A member
    not mirrored yet is an error: the audit would be silently partial."""
    if member is not None and own is not None:
        yield member, own, False
    for m in consortium.members:
        if m.name == member:
            continue
        mirror = MemberMirror(mirrors, m.name)
        if not mirror.db_path.exists():
            raise EnvironmentProblem(msg("aggregator.claims.audit_no_mirror", member=m.name,
                                         path=mirrors))
        yield m.name, mirror.open(check_integrity=False), True


def consortium_audit(consortium: Consortium | None,
                     sources: Iterable[tuple[str, LedgerStore, bool]]) -> dict[str, Any]:
    """The audit over the members' logs (:func:`audit_sources`, or
    :func:`aggregator.equipment_claims.member_stores`)."""
    spans: list[Span] = []
    members: list[str] = []
    for name, store, close in sources:
        try:
            spans.extend(spans_of(consortium, name, store))
            members.append(name)
        finally:
            if close:
                store.close()
    found = double_claims(spans)
    return {"members": members, "tokens": len({s.holding.token for s in spans}),
            "double_claims": found,
            "unresolved": sum(1 for f in found if f["unresolved"])}


def contested_devices(settings: ClaimSettings | None, own: LedgerStore) -> dict[str, str]:
    """The batch hook: this town's devices holding an unresolved double claim, with why. Empty
    when the town keeps no claim tokens."""
    if settings is None:
        return {}
    consortium = (load_consortium_file(settings.consortium_file)
                  if settings.consortium_file is not None else None)
    report = consortium_audit(consortium, member_stores(settings, own))
    return unresolved_devices(report, settings.member or "this town")


def unresolved_devices(report: Mapping[str, Any], member: str) -> dict[str, str]:
    """The devices of ``member`` that hold an unresolved double claim, each with a reason: what
    a batch must not credit until the operators settle it."""
    out: dict[str, str] = {}
    for f in report["double_claims"]:
        if not f["unresolved"]:
            continue
        for me, other in ((f["first"], f["second"]), (f["second"], f["first"])):
            if me["member"] == member:
                out[me["device_id"]] = said("aggregator.claims.also_enrolled",
                                            kind=equipment_name(f["kind"]),
                                            member=other["member"],
                                            device=other["device_id"])
    return out


__all__ = ["Span", "audit_sources", "consortium_audit", "contested_devices", "double_claims",
           "published_times", "unresolved_devices", "witnessed_at"]
