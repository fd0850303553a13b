"""Hourly granular certificates from the signed readings (issue 19; docs/certificates.md).

What an hour of a household's self-consumed PV proves, and the certificate bundle that carries it.
Pure: no I/O. The energy is the J-Credit PV methodology's own: only creditable readings (the one
creditability function, :mod:`creditability`, already applied by whoever hands readings in),
netted per exact span by :func:`eco_protocol.methodology.bucket_energy` — imported, never
copied — so a certificate can never prove a Wh the batch arithmetic would not.

Three narrowings keep an hourly certificate honest, each conservative:
- only spans inside one UTC hour count (a gap-filled reading over several hours cannot say in
  which hour its energy was produced);
- a battery home gets no certificate (its self-consumption is only provable per day, see
  :func:`bucket_energy`), nor does a home whose PV a household rule zeroes (``zero_reason``);
- the proven Wh of a span are attributed to its PV readings in log order, each at most its own
  energy, so a claim can name the reading (entry) its Wh come from.

Face values are whole Wh, rounded down (EnergyTag GC Scheme Standard: "production volume rounded
down to the nearest Wh"); readings carry whole Wh already, so the floor is exact here, and the
claim ledger (:mod:`claims`) refuses any Wh taken beyond what this module proves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Final

from .creditability import DEFAULT_RULES, CreditRules
from .encoding import format_time
from .methodology import HouseholdTerms, ReadingFacts, bucket_energy, zero_reason
from .records import Quantity

HOUR: Final = timedelta(hours=1)
NETTED: Final = frozenset({Quantity.PV_GENERATION, Quantity.GRID_EXPORT})
"""The quantities an hour's self-consumption is netted from."""


def hour_of(moment: datetime) -> datetime:
    """The UTC hour an instant falls in (its start)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_text(hour: datetime) -> str:
    """An hour as a claim and a bundle spell it: RFC 3339 UTC of its start."""
    return format_time(hour_of(hour))


def within_one_hour(start: datetime, end: datetime) -> bool:
    """Whether ``[start, end)`` lies inside one UTC hour (so its energy has an hour)."""
    return start < end and end <= hour_of(start) + HOUR


@dataclass(frozen=True, slots=True)
class SpanReading:
    """A creditable PV-generation or grid-export reading of one household, named by its log
    entry (``index`` and ``entry_sha256``, the SHA-256 of the entry bytes, as a ``prev`` names
    a reading) — what a certificate links to."""

    index: int
    entry_sha256: str
    quantity: Quantity
    start: datetime
    end: datetime
    energy_wh: int

    @property
    def facts(self) -> ReadingFacts:
        return ReadingFacts(self.quantity, self.start, self.end, self.energy_wh)


def certifiable(terms: HouseholdTerms, rules: CreditRules = DEFAULT_RULES) -> str | None:
    """Why this household's PV cannot be certified hourly, or ``None`` if it can."""
    reason = zero_reason(terms, rules)
    if reason is not None:
        return reason
    if terms.battery:
        return ("battery: self-consumption of a home with a battery is proven per JST day only, "
                "never per hour")
    return None


def span_shares(span: Sequence[SpanReading], terms: HouseholdTerms,
                rules: CreditRules = DEFAULT_RULES) -> dict[int, int]:
    """The self-consumption one exact span proves, attributed to its PV readings: entry index →
    Wh, in index order, each at most its own energy; the shares add up to the span's
    self-consumption as :func:`bucket_energy` nets it (0 without an export reading)."""
    if not span or certifiable(terms, rules) is not None:
        return {}
    netted = bucket_energy([r.facts for r in span if r.quantity in NETTED], terms,
                           lambda _: "span", rules)
    left = netted["span"]["self_consumed"] if netted else 0
    out: dict[int, int] = {}
    for r in sorted(span, key=lambda r: r.index):
        if r.quantity is not Quantity.PV_GENERATION or left <= 0:
            continue
        take = min(left, r.energy_wh)
        if take > 0:
            out[r.index] = take
            left -= take
    return out


@dataclass(frozen=True, slots=True)
class ProvenHour:
    """One UTC hour of one household: the Wh its readings prove self-consumed, by PV reading
    (entry index → Wh), and the entry hash of each reading the hour draws on."""

    household: str
    hour: datetime
    shares: Mapping[int, int]
    hashes: Mapping[int, str]

    @property
    def proven_wh(self) -> int:
        return sum(self.shares.values())


def proven_hours(household: str, readings: Iterable[SpanReading], terms: HouseholdTerms,
                 rules: CreditRules = DEFAULT_RULES) -> list[ProvenHour]:
    """Every hour in which ``readings`` (creditable, one household) prove self-consumption, in
    time order. Spans that do not fit inside one hour are left out."""
    spans: dict[tuple[datetime, datetime], list[SpanReading]] = {}
    for r in readings:
        if r.quantity in NETTED and within_one_hour(r.start, r.end):
            spans.setdefault((r.start, r.end), []).append(r)
    hours: dict[datetime, dict[int, int]] = {}
    hashes: dict[int, str] = {}
    for (start, _), span in sorted(spans.items()):
        shares = span_shares(span, terms, rules)
        if shares:
            hours.setdefault(hour_of(start), {}).update(shares)
            hashes.update((r.index, r.entry_sha256) for r in span if r.index in shares)
    return [ProvenHour(household, h, dict(sorted(s.items())),
                       {i: hashes[i] for i in sorted(s)})
            for h, s in sorted(hours.items())]


def face_value(proven_wh: int | Fraction, already_claimed_wh: int = 0) -> int:
    """Whole Wh a new bundle may carry: the proven energy not yet claimed, rounded down (toward
    zero Wh, never up), never negative."""
    return max(0, math.floor(proven_wh) - already_claimed_wh)


# --- the bundle ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """What configuration says about the issuer and the grid (docs/certificates.md)."""

    issuing_body: str
    market_zone: str
    country: str
    energy_source: str = "solar_pv"
    energy_carrier: str = "electricity"
    emissions_factor_g_per_kwh: int = 0  # a PV panel's own emissions in operation
    emissions_factor_source: str = "PV production emits no CO2 in operation (IPCC scope 1)"


@dataclass(frozen=True, slots=True)
class ProductionDevice:
    """A household's PV as a production device: its pseudonymous id (the household pseudonym,
    never a name) and its capacity in W (the sum of its enrolled PV meters' rated power)."""

    device_id: str
    capacity_w: int


@dataclass(frozen=True, slots=True)
class CertificateBundle:
    """An issued GC bundle: ``face_value_wh`` certificates of 1 Wh, ids ``first..last``."""

    issuance_id: str
    first: int
    last: int
    hour: datetime
    device: ProductionDevice
    issuer: IssuerConfig
    readings: tuple[tuple[int, str, int], ...]  # (entry index, entry SHA-256, Wh taken)
    issued_at: str
    claim_index: int | None = None  # the log entry of the eco.claim/v1 that issued it

    @property
    def face_value_wh(self) -> int:
        return self.last - self.first + 1

    def to_dict(self) -> dict[str, Any]:
        """The bundle in the EnergyTag GC registry's field names (docs/certificates.md)."""
        return {
            "issuance_id": self.issuance_id,
            "certificate_bundle_id_range_start": self.first,
            "certificate_bundle_id_range_end": self.last,
            "bundle_quantity": self.face_value_wh,
            "face_value": 1,
            "face_value_unit": "Wh",
            "energy_carrier": self.issuer.energy_carrier,
            "energy_source": self.issuer.energy_source,
            "device_id": self.device.device_id,
            "device_capacity_w": self.device.capacity_w,
            "production_starting_interval": format_time(self.hour),
            "production_ending_interval": format_time(self.hour + HOUR),
            "issuance_datestamp": self.issued_at[:10],
            "dissemination_level": "self_consumed",
            "is_storage": False,
            "issuance_post_energy_carrier_conversion": False,
            "issue_market_zone": self.issuer.market_zone,
            "country_of_issuance": self.issuer.country,
            "issuing_body": self.issuer.issuing_body,
            "emissions_factor_production_device": self.issuer.emissions_factor_g_per_kwh,
            "emissions_factor_unit": "gCO2/kWh",
            "emissions_factor_source": self.issuer.emissions_factor_source,
            "hash": {"readings": [{"index": i, "entry_sha256": h, "wh": wh}
                                  for i, h, wh in self.readings],
                     "claim_index": self.claim_index},
        }


__all__ = ["HOUR", "CertificateBundle", "IssuerConfig", "ProductionDevice", "ProvenHour",
           "SpanReading", "certifiable", "face_value", "hour_of", "hour_text", "proven_hours",
           "span_shares", "within_one_hour"]
