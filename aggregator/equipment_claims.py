"""Who holds a piece of equipment: claim tokens looked up in every member's log (issue 18 pt 4).

An enrolment carries claim tokens (:mod:`eco_protocol.claim_tokens`) made from the identities
the operator enters (``--equipment``). Before a new enrolment is appended, its equipment's
tokens — under every claim-token secret this member holds, current and retired — are looked up
in this town's own log and in each mirrored member's log (``eco-aggregator mirror``'s stores,
ordinary ledger stores); a token held by a live (not revoked) enrolment anywhere refuses the
new one, naming the member, the device and the date. A household that moves revokes in one
town, then enrols in the other: a revoked enrolment holds nothing.

The ``[consortium]`` section of ``aggregator.toml`` says where the secret, the consortium file
and the mirrors are (:func:`claim_settings`). What a race between two towns leaves behind (both
looked before either's enrolment was mirrored) is found by the consortium audit
(:mod:`aggregator.consortium_audit`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eco_protocol.canonical import parse_json
from eco_protocol.claim_tokens import (
    ClaimSecret,
    ClaimToken,
    ClaimTokenError,
    Equipment,
    EquipmentKind,
    claim_tokens,
    lookup_tokens,
    parse_equipment,
    parse_secrets,
)
from eco_protocol.consortium import Consortium, ConsortiumError, parse_consortium
from eco_protocol.encoding import parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import Msg, msg
from eco_protocol.messages_rules import equipment_name, jst
from eco_protocol.os_messages import os_reason
from eco_protocol.records import (
    ENROL_TYPE,
    REVOKE_TYPE,
    Enrolment,
    MeterSpec,
    Quantity,
    Revocation,
)

from .batches import BatchPlan
from .claim_settings import ClaimSettings
from .errors import ConfigError, EnvironmentProblem, Rejected
from .mirror_store import MemberMirror
from .registry import EnrolRefused
from .store import LedgerStore, SqliteStore

_MARKERS: Final = (f'"{ENROL_TYPE}"'.encode(), f'"{REVOKE_TYPE}"'.encode())


def load_secrets(path: Path) -> tuple[ClaimSecret, ...]:
    """The claim-token secrets (current first); refused when others may read the file."""
    try:
        mode = os.stat(path).st_mode
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EnvironmentProblem(msg("aggregator.claims.secret_unreadable", path=path,
                                     reason=os_reason(e))) from e
    if mode & 0o077:
        raise EnvironmentProblem(msg("aggregator.claims.secret_open", path=path,
                                     mode=f"{mode & 0o777:o}"))
    try:
        return parse_secrets(text, str(path))
    except ClaimTokenError as e:
        raise EnvironmentProblem(msg("aggregator.as_is", error=e)) from e


def load_consortium_file(path: Path) -> Consortium:
    try:
        return parse_consortium(path.read_text("utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(msg("aggregator.consortium.file_unreadable", path=path,
                              reason=os_reason(e))) from e
    except ConsortiumError as e:
        raise ConfigError(msg("aggregator.as_is", error=e)) from e


# --- who holds what ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holding:
    """One claim token carried by one enrolment in one member's log."""

    member: str
    token: ClaimToken
    device_id: str
    household: str
    enrolled_at: str
    index: int
    revoked_index: int | None

    @property
    def live(self) -> bool:
        return self.revoked_index is None

    def describe(self) -> str:
        return (f"{self.member} (device {self.device_id}, household {self.household}, "
                f"enrolled {jst(parse_time(self.enrolled_at, 'enrolled_at'))}, log entry "
                f"{self.index})")

    def clash(self, kind: str) -> Msg:
        """"The <kind> entered is already enrolled at <member> (device …, enrolled … JST)"."""
        return msg("aggregator.claims.holding", kind=equipment_name(kind), member=self.member,
                   device=self.device_id, household=self.household,
                   at=jst(parse_time(self.enrolled_at, "enrolled_at")), index=self.index)


def enrolment_entries(store: LedgerStore) -> Iterator[tuple[int, Enrolment | Revocation]]:
    """Every enrolment and revocation in a ledger store, in log order. Reads every entry (a
    mirror keeps no device table); the type is looked for in the bytes before parsing."""
    for index, data in store.entries(0, store.size()):
        if not any(m in data for m in _MARKERS):
            continue
        try:
            obj = parse_json(data)
            kind = obj.get("type") if isinstance(obj, dict) else None
            if kind == ENROL_TYPE:
                yield index, Enrolment.from_dict(obj)
            elif kind == REVOKE_TYPE:
                yield index, Revocation.from_dict(obj)
        except InvalidInput:
            continue  # the log's own verification names a bad entry; it holds nothing here


def holdings(store: LedgerStore, member: str) -> list[Holding]:
    """Every claim token of every enrolment in the store, with whether it was revoked. A
    town's own store has a device table (one row per enrolment, with its revocation): read
    that; a mirror's has none, so its entries are read."""
    rows = store.devices()
    if rows:
        return [Holding(member, t, e.device_id, e.household, e.enrolled_at, r.enrol_index,
                        r.revoked_index)
                for r in rows for e in _enrolment(r.enrolment) for t in e.claim_tokens]
    found: list[tuple[int, Enrolment]] = []
    revoked: dict[str, int] = {}
    for index, rec in enrolment_entries(store):
        if isinstance(rec, Enrolment):
            found.append((index, rec))
        else:
            revoked.setdefault(rec.device_id, index)
    return [Holding(member, t, e.device_id, e.household, e.enrolled_at, i,
                    revoked.get(e.device_id))
            for i, e in found for t in e.claim_tokens]


def _enrolment(entry: bytes) -> list[Enrolment]:
    """The device row's enrolment ([] if unreadable: the log's own checks name it)."""
    try:
        return [Enrolment.from_dict(parse_json(entry))]
    except InvalidInput:
        return []


def member_stores(settings: ClaimSettings, own: LedgerStore
                  ) -> Iterator[tuple[str, LedgerStore, bool]]:
    """(member name, store, whether to close it): this town's log, then each mirrored one. A
    member whose mirror does not exist yet refuses: the look-up would be incomplete."""
    yield settings.member or "this town", own, False
    if settings.consortium_file is None or settings.mirrors is None:
        return
    consortium = load_consortium_file(settings.consortium_file)
    for m in consortium.others(settings.member or ""):
        mirror = MemberMirror(settings.mirrors, m.name)
        if not mirror.db_path.exists():
            raise EnvironmentProblem(msg("aggregator.claims.no_mirror", member=m.name,
                                         path=settings.mirrors))
        yield m.name, SqliteStore(mirror.db_path, check_integrity=False), True


def all_holdings(settings: ClaimSettings, own: LedgerStore) -> list[Holding]:
    out: list[Holding] = []
    for name, store, close in member_stores(settings, own):
        try:
            out.extend(holdings(store, name))
        finally:
            if close:
                store.close()
    return out


def equipment_arg(text: str, what: str = "--equipment") -> Equipment:
    """``KIND=IDENTITY`` as the operator typed it, or :class:`EnrolRefused` saying why."""
    try:
        return parse_equipment(text, what)
    except ClaimTokenError as e:
        raise EnrolRefused(msg("aggregator.as_is", error=e), "equipment.format") from e


class EquipmentClaimed(EnrolRefused):
    """The equipment is enrolled, and not revoked, elsewhere (or in this town already)."""


# what a crediting meter must name in a consortium: without it, the same inverter or charger
# could be enrolled again under another household, in this town or another, and nothing would
# look it up (issue 18 point 4: "each enrolment carries claim tokens")
REQUIRED_EQUIPMENT: Final[Mapping[Quantity, frozenset[EquipmentKind]]] = {
    Quantity.PV_GENERATION: frozenset({EquipmentKind.INVERTER}),
    Quantity.EV_CHARGE: frozenset({EquipmentKind.EV_CHARGER, EquipmentKind.VIN}),
}


def missing_equipment(meters: Sequence[MeterSpec],
                      equipment: Sequence[Equipment]) -> tuple[MeterSpec, ...]:
    """The crediting meters whose equipment is not among ``equipment`` (one identity of a
    required kind per kind of meter: a home with two PV meters on one inverter names it once)."""
    given = {e.kind for e in equipment}
    return tuple(m for m in meters
                 if m.quantity in REQUIRED_EQUIPMENT
                 and not REQUIRED_EQUIPMENT[m.quantity] & given)


def tokens_for_enrolment(settings: ClaimSettings | None, own: LedgerStore,
                         equipment: Sequence[Equipment],
                         meters: Sequence[MeterSpec] = ()) -> tuple[ClaimToken, ...]:
    """The claim tokens a new enrolment carries, after refusing equipment that a live enrolment
    of any member holds. In a consortium (``settings`` given) a crediting meter without its
    equipment is refused too: a missing identity is the one way round the look-up."""
    if settings is not None:
        lacking = missing_equipment(meters, equipment)
        if lacking:
            raise EnrolRefused(
                msg("aggregator.claims.equipment_missing",
                    meters=", ".join(f"{m.id} ({m.quantity.value})" for m in lacking),
                    kinds=" / ".join(sorted({k.value for m in lacking
                                             for k in REQUIRED_EQUIPMENT[m.quantity]}))),
                "equipment.missing")
    if not equipment:
        return ()
    if settings is None:
        raise EnrolRefused(msg("aggregator.claims.no_secret"), "equipment.no_secret")
    secrets = load_secrets(settings.secret_file)
    if settings.consortium_file is not None:
        named = load_consortium_file(settings.consortium_file).token_key_ids
        if named and secrets[0].key_id not in named:  # the basket would refuse its tokens
            raise EnrolRefused(msg("aggregator.claims.secret_not_named",
                                   key_id=secrets[0].key_id, path=settings.consortium_file,
                                   named=", ".join(named)), "equipment.secret")
    wanted = lookup_tokens(secrets, equipment)
    clashes = [h for h in all_holdings(settings, own) if h.live and h.token in wanted]
    if clashes:
        raise EquipmentClaimed(
            msg("aggregator.claims.claimed",
                clashes=[h.clash(wanted[h.token].kind.value) for h in clashes]),
            "equipment.claimed")
    return claim_tokens(secrets[0], equipment)


def refuse_contested(plan: BatchPlan, contested: Mapping[str, str]) -> None:
    """A batch must not credit equipment two enrolments hold: a seal whose covered readings
    include such a device is refused, naming it, until the operators settle it (one of the two
    enrolments revoked; the batch is then planned again). Excluding the readings silently
    instead would break the buyer's recomputation of the covered set from the log."""
    devices = sorted({r.device_id for r in plan.covered} & set(contested))
    if devices:
        raise Rejected(msg("aggregator.claims.not_sealed", batch=plan.batch_id,
                           devices=[msg("aggregator.claims.contested", device=d,
                                        reason=contested[d]) for d in devices]))


def contested(all_held: Sequence[Holding]) -> Mapping[ClaimToken, list[Holding]]:
    """The tokens held by two or more live enrolments (in one log or across logs)."""
    by_token: dict[ClaimToken, list[Holding]] = {}
    for h in all_held:
        if h.live:
            by_token.setdefault(h.token, []).append(h)
    return {t: hs for t, hs in by_token.items() if len(hs) > 1}


__all__ = ["EquipmentClaimed", "equipment_arg", "refuse_contested", "Holding", "all_holdings",
           "contested", "enrolment_entries", "holdings", "load_secrets", "member_stores",
           "tokens_for_enrolment", "missing_equipment", "REQUIRED_EQUIPMENT"]
