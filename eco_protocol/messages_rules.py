"""Protocol data as a person reads it (:mod:`eco_protocol.messages`): the creditability rules'
and the quantities' codes (in English the code itself, as receipts and reports spell it; in
Japanese a short name), and times in JST."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .creditability import Rule
from .encoding import JST
from .messages import Msg, entry, msg, text
from .records import Quantity

_RULES = frozenset(r.value for r in Rule)
_QUANTITIES = frozenset(q.value for q in Quantity)


def rule_name(code: str) -> Msg | str:
    """A rule's name (``implausible`` / 定格出力超過); another code as it is."""
    return Msg(f"eco_protocol.rule.{code}") if code in _RULES else code


def quantity_name(code: str) -> Msg | str:
    """A quantity's name (``pv_generation`` / 太陽光発電量); another code as it is."""
    return Msg(f"eco_protocol.quantity.{code}") if code in _QUANTITIES else code


def equipment_name(kind: str) -> Msg:
    """A kind of equipment behind a claim token (``inverter`` / パワーコンディショナ)."""
    return Msg(f"eco_protocol.equipment.{kind}")


def jst(t: datetime) -> str:
    """A time as a person in Japan reads it: ``2026-11-22 09:30 JST``."""
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def reason_text(reason: str, lang: str) -> str:
    """A receipt's or report's reason (``"<code>: <English text>"``) for a person reading
    ``lang``: in English as it is; otherwise the code's sentence from the catalog, then the code
    (a code the catalog does not know: as it is)."""
    if lang == "en":
        return reason
    code = reason.split(":", 1)[0].strip()
    for family in ("ruletext", "reject", "zero"):
        if entry(f"eco_protocol.{family}.{code}") is not None:
            return text("eco_protocol.reason", lang, code=code,
                        text=Msg(f"eco_protocol.{family}.{code}"))
    return reason


def rule_counts(counts: Mapping[str, int]) -> list[Msg]:
    """``implausible 1, overlap 1`` (``定格出力超過 1 件、重複 1 件``) as messages."""
    return [msg("eco_protocol.verify.count", name=rule_name(k), n=v) for k, v in counts.items()]


__all__ = ["equipment_name", "jst", "quantity_name", "reason_text", "rule_counts", "rule_name"]
