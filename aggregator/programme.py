"""The programme configuration (TOML): who runs it, under which methodology and factors, how
points are earned and spent, and the programme rules a verification body applies (``[rules]``,
:class:`~eco_protocol.creditability.CreditRules`). Figures that docs/methodology.md marks as gaps
come only from here, each with its source, and appear in every report.

Whether the programme is a demonstration is said in one place only, ``[programme] demonstration``
(it describes the programme, not a crediting rule); it is carried into ``Programme.rules`` so the
rules that travel in every report say it too. ``[rules] demonstration`` is refused.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.errors import MalformedRecord
from eco_protocol.messages import msg
from eco_protocol.methodology import GridFactor, Methodology
from eco_protocol.os_messages import os_reason, toml_error

from .errors import ConfigError, Rejected

EXAMPLE = """\
# Programme configuration: the J-Credit programme-type project this aggregator serves.
[programme]
id = "{programme}"
name = "Demo City household decarbonisation programme"
name_ja = "デモ市 家庭の脱炭素プログラム"       # *_ja: the text on Japanese pages (optional)
jcredit_project = "ILLUSTRATIVE-0000"   # the J-Credit project number once registered
operator = "Demo City, Environment Division"
operator_ja = "デモ市 環境課"
verification_body = "to be appointed"
verification_body_ja = "選定中"
# A demonstration may seal batches with the illustrative factors below; every page of its
# reports says so. A real programme sets false, and then a seal refuses illustrative or undated
# factors.
demonstration = true

[methodology]
# Household PV: EN-R-002 (self-consumption only). EV: gasoline avoided minus grid charging.
id = "EN-R-002"
version = "3.0"
# Gasoline: 34.6 GJ/kL x 0.0183 tC/GJ x 44/12 = 2.32 t-CO2/kL (docs/methodology.md, jikosoren.jp)
gasoline_g_per_l = 2320
gasoline_source = "jikosoren.jp: 34.6 GJ/kL x 0.0183 tC/GJ x 44/12"
gasoline_source_ja = "自工連（jikosoren.jp）: 34.6 GJ/kL × 0.0183 tC/GJ × 44/12"

# One grid factor per Japanese fiscal year (April-March), with its source. A period without a
# factor is refused. The demo's factors are ILLUSTRATIVE: replace them with the published values.
[[methodology.grid_factors]]
fiscal_year = 2025
g_per_kwh = 434
source = "ILLUSTRATIVE value for the demo; replace with the published all-source factor"
source_ja = "デモ用の仮の値（公表された全電源平均係数に置き換えること）"
published = "n/a"
illustrative = true

[[methodology.grid_factors]]
fiscal_year = 2026
g_per_kwh = 434
source = "ILLUSTRATIVE value for the demo; replace with the published all-source factor"
source_ja = "デモ用の仮の値（公表された全電源平均係数に置き換えること）"
published = "n/a"
illustrative = true

[rules]
# The programme rules a verification body applies (docs/methodology.md, "Programme rules").
# Every key is optional; the defaults below are the conservative ones. Uncomment to change.
# interval_s = 1800                # readings are aligned 30-minute intervals (k x 30 min)
# max_gap_intervals = 48           # longest gap_filled reading: 48 intervals (one day)
# max_equipment_age_years = 2      # installed at most 2 years before joining (Shiga, Ehime plans)
# crediting_years = 8              # 8 years from registration...
# registered = "2026-04-01"        # ...the programme's registration day (JST), once registered
# crediting_until = "2031-03-31"   # ...and never after 2031-03-31 (J-Credit programme rule)
# battery = "daily"                # battery homes: PV netted per JST day; or "exclude" (one plan)
# project_emission_ppm = 6000      # inverter's own use, 0.6 % of PV (registered household plan)
# ev_real_wh_per_km = 180          # real-world EV Wh/km; the worse of this and type-approved
#                                  # is used (default: none, type-approved only)

[points]
# Eco-points per kg-CO2 avoided (docs/methodology.md: no published rate; 1 per kg by default).
points_per_kg = 1
# Points lapse this many days after the day they were earned (oldest spent first); 0: never.
expiry_days = 0

# The reward catalogue: a redemption (eco.redeem/v1) records the id; residents and shops see
# name_ja on Japanese pages (optional) and name otherwise.
[[rewards]]
id = "pool-ticket"
name = "Municipal pool, one day ticket"
name_ja = "市民プール 1日券"
points = 20

[[rewards]]
id = "festival-invite"
name = "Invitation to the autumn festival"
name_ja = "秋まつりへのご招待"
points = 50

[[rewards]]
id = "local-rice-2kg"
name = "Local rice, 2 kg"
name_ja = "地元のお米 2kg"
points = 100
"""


@dataclass(frozen=True, slots=True)
class Reward:
    id: str
    name: str
    points: int
    name_ja: str = ""  # the name on Japanese pages; ``name`` when not given

    def label(self, lang: str) -> str:
        """The reward's name for a reader of ``lang`` ("ja" or "en")."""
        return self.name_ja if lang == "ja" and self.name_ja else self.name


@dataclass(frozen=True, slots=True)
class Programme:
    id: str
    name: str
    jcredit_project: str
    operator: str
    verification_body: str
    methodology: Methodology
    points_per_kg: int
    rewards: tuple[Reward, ...]
    points_expiry_days: int = 0  # 0: points never lapse
    rules: CreditRules = DEFAULT_RULES  # [rules], with [programme] demonstration
    # English text -> Japanese, from the optional *_ja keys beside the programme's texts
    # (name_ja, operator_ja, verification_body_ja, gasoline_source_ja, a factor's source_ja):
    # signed records keep the English; Japanese pages look it up here (issue 17)
    texts_ja: tuple[tuple[str, str], ...] = ()

    def text(self, english: str, lang: str) -> str:
        """A text of this programme (or of a report under it) for a reader of ``lang``."""
        return dict(self.texts_ja).get(english, english) if lang == "ja" else english

    def reward(self, reward_id: str) -> Reward:
        for r in self.rewards:
            if r.id == reward_id:
                return r
        raise Rejected(msg("aggregator.redeem.no_reward", reward=repr(reward_id),
                           have=", ".join(r.id for r in self.rewards)))

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "jcredit_project": self.jcredit_project,
                "operator": self.operator, "verification_body": self.verification_body}


def _req(t: dict[str, Any], key: str, typ: type, where: str) -> Any:
    v = t.get(key)
    if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
        raise ConfigError(msg("aggregator.programme.key", where=where, key=key,
                              type=typ.__name__))
    return v


_RULE_KEYS = tuple(f.name for f in fields(CreditRules) if f.name != "demonstration")


def _rules(doc: dict[str, Any], p: dict[str, Any], w: str) -> CreditRules:
    """``[rules]`` (every key optional, unknown keys refused so a misspelt rule never silently
    falls back to its default) plus ``[programme] demonstration``."""
    table = doc.get("rules", {})
    if not isinstance(table, dict):
        raise ConfigError(msg("aggregator.programme.rules_table", where=w))
    for k in table:
        if k == "demonstration":
            raise ConfigError(msg("aggregator.programme.demo_place", where=w))
        if k not in _RULE_KEYS:
            raise ConfigError(msg("aggregator.programme.rules_key", where=w, key=repr(k),
                                  known=", ".join(_RULE_KEYS)))
    demo = p.get("demonstration", False)
    if not isinstance(demo, bool):
        raise ConfigError(msg("aggregator.programme.demo_bool", where=w))
    # TOML has a date type: accept registered = 2026-04-01 as well as "2026-04-01"
    given = {k: v.isoformat() if isinstance(v, date) else v for k, v in table.items()}
    try:
        return CreditRules.from_dict({**given, "demonstration": demo})
    except MalformedRecord as e:
        raise ConfigError(msg("aggregator.programme.rules", where=w, error=str(e))) from e


def _texts_ja(p: dict[str, Any], m: dict[str, Any], w: str) -> tuple[tuple[str, str], ...]:
    """The (English, Japanese) pairs of the ``*_ja`` keys (a text without one stays English)."""
    pairs = [(t, k, f"{w} [programme]") for t, k in ((p, "name"), (p, "operator"),
                                                     (p, "verification_body"))]
    pairs.append((m, "gasoline_source", f"{w} [methodology]"))
    pairs += [(f, k, f"{w} [[methodology.grid_factors]]") for f in m.get("grid_factors", [])
              for k in ("source", "published")]
    return tuple((str(t[k]), _req(t, f"{k}_ja", str, where)) for t, k, where in pairs
                 if f"{k}_ja" in t and k in t)


def load_programme(path: Path) -> Programme:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(msg("aggregator.programme.missing", path=path)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(msg("aggregator.programme.not_toml", path=path,
                              error=toml_error(e))) from e
    except OSError as e:
        raise ConfigError(msg("aggregator.programme.unreadable", path=path,
                              error=os_reason(e))) from e
    w = str(path)
    p = _req(doc, "programme", dict, w)
    m = _req(doc, "methodology", dict, w)
    factors = []
    for i, f in enumerate(m.get("grid_factors", [])):
        wf = f"{w} [[methodology.grid_factors]] #{i + 1}"
        factors.append(GridFactor(_req(f, "fiscal_year", int, wf), _req(f, "g_per_kwh", int, wf),
                                  _req(f, "source", str, wf), _req(f, "published", str, wf),
                                  bool(f.get("illustrative", False))))
    if len({f.fiscal_year for f in factors}) != len(factors):
        raise ConfigError(msg("aggregator.programme.two_factors", where=w))
    rewards = tuple(Reward(_req(r, "id", str, f"{w} [[rewards]]"),
                           _req(r, "name", str, f"{w} [[rewards]]"),
                           _req(r, "points", int, f"{w} [[rewards]]"),
                           _req(r, "name_ja", str, f"{w} [[rewards]]") if "name_ja" in r
                           else "")
                    for r in doc.get("rewards", []))
    pts = doc.get("points", {})
    return Programme(
        id=_req(p, "id", str, f"{w} [programme]"), name=_req(p, "name", str, f"{w} [programme]"),
        jcredit_project=str(p.get("jcredit_project", "")), operator=str(p.get("operator", "")),
        verification_body=str(p.get("verification_body", "")),
        methodology=Methodology(_req(m, "id", str, f"{w} [methodology]"),
                                _req(m, "version", str, f"{w} [methodology]"), tuple(factors),
                                _req(m, "gasoline_g_per_l", int, f"{w} [methodology]"),
                                _req(m, "gasoline_source", str, f"{w} [methodology]")),
        points_per_kg=int(pts.get("points_per_kg", 1)), rewards=rewards,
        points_expiry_days=int(pts.get("expiry_days", 0)), rules=_rules(doc, p, w),
        texts_ja=_texts_ja(p, m, w))


def example_programme(programme_id: str) -> str:
    return EXAMPLE.format(programme=programme_id)
