"""The programme configuration (TOML): who runs it, under which methodology and factors, how
points are earned and spent. Figures that METHODOLOGY.md marks as gaps come only from here, each
with its source, and appear in every report.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eco_protocol.methodology import GridFactor, Methodology

from .errors import ConfigError

EXAMPLE = """\
# Programme configuration: the J-Credit programme-type project this aggregator serves.
[programme]
id = "{programme}"
name = "Demo City household decarbonisation programme"
jcredit_project = "ILLUSTRATIVE-0000"   # the J-Credit project number once registered
operator = "Demo City, Environment Division"
verification_body = "to be appointed"

[methodology]
# Household PV: EN-R-002 (self-consumption only). EV: gasoline avoided minus grid charging.
id = "EN-R-002"
version = "3.0"
# Gasoline: 34.6 GJ/kL x 0.0183 tC/GJ x 44/12 = 2.32 t-CO2/kL (METHODOLOGY.md, jikosoren.jp)
gasoline_g_per_l = 2320
gasoline_source = "jikosoren.jp: 34.6 GJ/kL x 0.0183 tC/GJ x 44/12"

# One grid factor per Japanese fiscal year (April-March), with its source. A period without a
# factor is refused. The demo's factors are ILLUSTRATIVE: replace them with the published values.
[[methodology.grid_factors]]
fiscal_year = 2025
g_per_kwh = 434
source = "ILLUSTRATIVE value for the demo; replace with the published all-source factor"
published = "n/a"
illustrative = true

[[methodology.grid_factors]]
fiscal_year = 2026
g_per_kwh = 434
source = "ILLUSTRATIVE value for the demo; replace with the published all-source factor"
published = "n/a"
illustrative = true

[points]
# Eco-points per kg-CO2 avoided (METHODOLOGY.md: no published rate; 1 per kg by default).
points_per_kg = 1
# Points lapse this many days after the day they were earned (oldest spent first); 0: never.
expiry_days = 0

[[rewards]]
id = "pool-ticket"
name = "Municipal pool, one day ticket"
points = 20

[[rewards]]
id = "festival-invite"
name = "Invitation to the autumn festival"
points = 50

[[rewards]]
id = "local-rice-2kg"
name = "Local rice, 2 kg"
points = 100
"""


@dataclass(frozen=True, slots=True)
class Reward:
    id: str
    name: str
    points: int


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

    def reward(self, reward_id: str) -> Reward:
        for r in self.rewards:
            if r.id == reward_id:
                return r
        raise ConfigError(f"no reward {reward_id!r} in the catalogue (have: "
                          f"{', '.join(r.id for r in self.rewards)})")

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "jcredit_project": self.jcredit_project,
                "operator": self.operator, "verification_body": self.verification_body}


def _req(t: dict[str, Any], key: str, typ: type, where: str) -> Any:
    v = t.get(key)
    if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
        raise ConfigError(f"{where}: '{key}' is missing or not a {typ.__name__}")
    return v


def load_programme(path: Path) -> Programme:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"programme file {path} not found; 'eco-aggregator init' writes an "
                          "example") from e
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"programme file {path}: {e}") from e
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
        raise ConfigError(f"{w}: a fiscal year has two grid factors")
    rewards = tuple(Reward(_req(r, "id", str, f"{w} [[rewards]]"),
                           _req(r, "name", str, f"{w} [[rewards]]"),
                           _req(r, "points", int, f"{w} [[rewards]]"))
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
        points_expiry_days=int(pts.get("expiry_days", 0)))


def example_programme(programme_id: str) -> str:
    return EXAMPLE.format(programme=programme_id)
