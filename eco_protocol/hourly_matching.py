"""Hourly matching: the share of each hour of a buyer's consumption that the granular
certificates it cancelled cover (issue 19 point 5; docs/certificates.md "Hourly matching
report") — the figure a 24/7 buyer files (EnergyTag GC Scheme Standard: a certificate counts
for the hour it was produced in; GHG Protocol Scope 2 revision: hourly matching).

Three pure steps, no I/O (the command :mod:`verify_matching_cli` reads and writes the files):

- :func:`parse_consumption`: the buyer's consumption CSV as a utility's download gives it —
  a header row, the first column the interval start (ISO 8601 with its UTC offset), a column
  whose header names the unit (kWh or Wh); hourly or half-hourly rows (half hours are summed
  into their hour). A bad row is refused naming its line and column.
- :func:`cancellations_of`: the cancellations of the bundles that
  :func:`certificate_proofs.verify_certificate_proofs` has *already accepted* (the claims it
  checked, never an unchecked document's).
- :func:`match_hours`: per hour, the Wh the account cancelled for that hour (only its own
  cancellations, only when the consumption period it cancelled for covers the hour), matched
  up to the hour's consumption and never more; the totals: the hourly-matched share, and the
  annual-style volumetric share of the same certificates (their Wh against the total
  consumption, ignoring the hour) for comparison.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from .certificate_proofs import BundleStatus
from .encoding import parse_time
from .errors import InvalidInput
from .messages import msg

HOUR: Final = timedelta(hours=1)
MAX_ROWS: Final = 20_000  # a leap year of half-hour rows is 17 568
MAX_LINE: Final = 4096
MAX_HOUR_WH: Final = 10**12  # 1 TWh in one hour: above any consumer, below any overflow


class ConsumptionError(InvalidInput):
    """The consumption CSV is refused; the message names the line and the column."""


def _refuse(code: str, **params: Any) -> ConsumptionError:
    return ConsumptionError.of(msg(f"eco_protocol.matching.csv.{code}", **params))


@dataclass(frozen=True, slots=True)
class ConsumptionHour:
    """The buyer's consumption in one UTC hour ``hour`` (its start), in whole Wh."""

    hour: datetime
    wh: int


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Certificates of one bundle cancelled by ``account`` for a consumption period."""

    issuance_id: str
    hour: datetime  # the certificates' production hour (UTC start)
    account: str
    period_start: datetime
    period_end: datetime
    wh: int  # ids cancelled, one Wh each
    beneficiary: str | None = None
    # whether the account itself asked for it (the claim carries its signed request); the
    # issuer may cancel ids it still holds naming any account, which is not that account's act
    signed: bool = True

    def covers(self, hour: datetime) -> bool:
        """Whether the consumption period cancelled for holds the whole hour."""
        return self.period_start <= hour and hour + HOUR <= self.period_end


@dataclass(frozen=True, slots=True)
class HourMatch:
    """One hour of the report."""

    hour: datetime
    consumption_wh: int
    certificates_wh: int  # cancelled for this hour (may exceed the consumption)
    matched_wh: int  # min(consumption, certificates)

    @property
    def share(self) -> float:
        return self.matched_wh / self.consumption_wh if self.consumption_wh else 0.0


@dataclass(frozen=True, slots=True)
class MatchingReport:
    """What :func:`match_hours` computed for ``account``."""

    account: str
    hours: tuple[HourMatch, ...]
    counted: tuple[Cancellation, ...]
    # the account's own cancellations not counted, with why: "period" (the period cancelled for
    # does not cover the certificates' hour), "no_consumption" (the hour is not in the CSV) or
    # "unsigned" (the issuer cancelled in the account's name, without its signed request)
    not_counted: tuple[tuple[Cancellation, str], ...]

    @property
    def consumption_wh(self) -> int:
        return sum(h.consumption_wh for h in self.hours)

    @property
    def certificates_wh(self) -> int:
        return sum(h.certificates_wh for h in self.hours)

    @property
    def matched_wh(self) -> int:
        return sum(h.matched_wh for h in self.hours)

    @property
    def hourly_share(self) -> float:
        """Σ min(consumption, certificates) per hour / Σ consumption."""
        total = self.consumption_wh
        return self.matched_wh / total if total else 0.0

    @property
    def volumetric_share(self) -> float:
        """The same certificates counted annual-style: their Wh / Σ consumption, at most 1."""
        total = self.consumption_wh
        return min(self.certificates_wh, total) / total if total else 0.0


# --- the consumption CSV -------------------------------------------------------------------------


def _unit(header: Sequence[str]) -> tuple[int, int] | None:
    """(column, Wh per unit) of the first header naming kWh or Wh."""
    for i, name in enumerate(header):
        squeezed = "".join(name.split()).lower()
        if i > 0 and "kwh" in squeezed:
            return i, 1000
        if i > 0 and "wh" in squeezed:
            return i, 1
    return None


def _instant(cell: str, line: int, header: str) -> datetime:
    try:
        at = datetime.fromisoformat(cell.strip())
    except ValueError as e:
        raise _refuse("time", line=line, column=1, header=header, value=cell) from e
    if at.tzinfo is None:
        raise _refuse("no_offset", line=line, column=1, header=header, value=cell)
    at = at.astimezone(UTC)
    if at.second or at.microsecond or at.minute not in (0, 30):
        raise _refuse("not_interval", line=line, column=1, header=header, value=cell)
    return at


def _wh(cell: str, per_unit: int, line: int, column: int, header: str) -> int:
    try:
        value = Decimal(cell.strip().replace(",", ""))
    except InvalidOperation as e:
        raise _refuse("number", line=line, column=column, header=header, value=cell) from e
    if not value.is_finite() or value < 0:
        raise _refuse("number", line=line, column=column, header=header, value=cell)
    if value > MAX_HOUR_WH // per_unit:  # before the product: 1e999999999 overflows Decimal
        raise _refuse("huge", line=line, column=column, header=header, value=cell[:32],
                      limit=f"{MAX_HOUR_WH:,}")
    wh = value * per_unit
    if wh != wh.to_integral_value():
        raise _refuse("fraction", line=line, column=column, header=header, value=cell)
    return int(wh)


def parse_consumption(text: str) -> tuple[ConsumptionHour, ...]:
    """The hourly consumption of a CSV (format in the module docstring), hours in order.
    Blank lines and lines starting with ``#`` are skipped; a UTF-8 byte order mark is fine."""
    rows = csv.reader(text.removeprefix("\ufeff").splitlines())
    header: list[str] | None = None
    unit: tuple[int, int] = (1, 1)
    seen: dict[datetime, int] = {}
    hours: dict[datetime, int] = {}
    for line, row in enumerate(rows, start=1):
        if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if sum(len(c) for c in row) > MAX_LINE:
            raise _refuse("long", line=line)
        if header is None:
            found = _unit(row)
            if found is None:
                raise _refuse("header", line=line, header=",".join(row))
            header, unit = [c.strip() for c in row], found
            continue
        column, per_unit = unit
        if len(row) <= column:
            raise _refuse("missing", line=line, column=column + 1, header=header[column])
        at = _instant(row[0], line, header[0])
        if at in seen:
            raise _refuse("twice", line=line, column=1, header=header[0], value=row[0],
                          other=seen[at])
        if len(seen) >= MAX_ROWS:
            raise _refuse("too_many", line=line, limit=MAX_ROWS)
        seen[at] = line
        start = at.replace(minute=0)
        hours[start] = hours.get(start, 0) + _wh(row[column], per_unit, line, column + 1,
                                                 header[column])
    if header is None:
        raise _refuse("empty_header")
    if not hours:
        raise _refuse("no_rows")
    return tuple(ConsumptionHour(h, hours[h]) for h in sorted(hours))


# --- the cancellations a verified proof holds ----------------------------------------------------


def cancellations_of(bundles: Iterable[BundleStatus]) -> tuple[Cancellation, ...]:
    """Every cancellation of ``bundles`` (as :func:`certificate_proofs.verify_certificate_proofs`
    found them: call it only on a check that passed), in log order."""
    out: list[tuple[int, Cancellation]] = []
    for b in bundles:
        hour = parse_time(b.hour, "bundle hour")
        for index, claim in b.cancel_claims:
            assert claim.account is not None and claim.period is not None
            assert claim.bundle is not None
            out.append((index, Cancellation(
                b.issuance_id, hour, claim.account, claim.period.start_dt, claim.period.end_dt,
                claim.bundle.size,
                None if claim.request is None else claim.request.beneficiary,
                claim.request is not None and claim.request.holder == claim.account)))
    return tuple(c for _, c in sorted(out, key=lambda x: x[0]))


# --- the matching --------------------------------------------------------------------------------


def match_hours(consumption: Sequence[ConsumptionHour], cancellations: Iterable[Cancellation],
                account: str) -> MatchingReport:
    """Match ``account``'s cancellations to its hourly ``consumption`` (see the module)."""
    used = {c.hour: c.wh for c in consumption}
    per_hour: dict[datetime, int] = {}
    counted: list[Cancellation] = []
    skipped: list[tuple[Cancellation, str]] = []
    for c in cancellations:
        if c.account != account:
            continue
        if not c.signed:
            skipped.append((c, "unsigned"))
        elif not c.covers(c.hour):
            skipped.append((c, "period"))
        elif c.hour not in used:
            skipped.append((c, "no_consumption"))
        else:
            counted.append(c)
            per_hour[c.hour] = per_hour.get(c.hour, 0) + c.wh
    rows = tuple(HourMatch(h.hour, h.wh, per_hour.get(h.hour, 0),
                           min(h.wh, per_hour.get(h.hour, 0))) for h in consumption)
    return MatchingReport(account, rows, tuple(counted), tuple(skipped))


__all__ = ["HOUR", "MAX_HOUR_WH", "MAX_ROWS", "Cancellation", "ConsumptionError", "ConsumptionHour",
           "HourMatch", "MatchingReport", "cancellations_of", "match_hours",
           "parse_consumption"]
