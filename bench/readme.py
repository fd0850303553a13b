"""The results as a Markdown table, and the README section it lives in.

Only the text between the markers is ever rewritten; if README.md has no markers yet, a
``## Benchmarks`` section holding them is appended.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"

Row = tuple[str, Callable[[dict[str, Any]], str], str, Callable[[dict[str, Any]], bool | None]]


def _g(r: dict[str, Any], key: str) -> Any:
    return r.get(key, "n/a")


ROWS: list[Row] = [
    ("`ingest_ratio_1w`",
     lambda r: f"**{_g(r, 'ingest_ratio_1w')}** — {_g(r, 'ingest_rate_1w')} readings/s through "
               f"Mosquitto → 1 `serve` → SQLite → receipt ÷ {_g(r, 'bare_verify_per_s')} bare "
               f"verify/s (rounds: {_g(r, 'ingest_ratio_1w_rounds')}; in CPU time "
               f"{_g(r, 'ingest_cpu_ratio_1w')})",
     "≥ 0.65", lambda r: r["ingest_ratio_1w"] >= 0.65),
    ("`ingest_ratio_2w`",
     lambda r: f"**{_g(r, 'ingest_ratio_2w')}** — {_g(r, 'ingest_rate_2w')} readings/s with 2 "
               "`serve` workers on one shared subscription ÷ the 1-worker rate (rounds: "
               f"{_g(r, 'ingest_ratio_2w_rounds')})",
     "≥ 1.6", lambda r: r["ingest_ratio_2w"] >= 1.6),
    ("`ingest_pg_ratio`",
     lambda r: f"**{_g(r, 'ingest_pg_ratio')}** — {_g(r, 'ingest_rate_pg_1w')} readings/s on "
               "PostgreSQL ÷ the SQLite rate (1 worker each; rounds: "
               f"{_g(r, 'ingest_pg_ratio_rounds')}; in CPU time vs bare: "
               f"{_g(r, 'ingest_cpu_ratio_pg')})",
     "≥ 0.8", lambda r: r["ingest_pg_ratio"] >= 0.8),
    ("`ingest_pg_ratio_2w`",
     lambda r: f"**{_g(r, 'ingest_pg_ratio_2w')}** — {_g(r, 'ingest_rate_pg_2w')} readings/s "
               "with 2 `serve` workers on one PostgreSQL store ÷ the 1-worker PostgreSQL rate "
               f"(rounds: {_g(r, 'ingest_pg_ratio_2w_rounds')})",
     "≥ 1.6", lambda r: r["ingest_pg_ratio_2w"] >= 1.6),
    ("`proof_us_1m`",
     lambda r: f"**{_g(r, 'proof_us_1m')} µs** per inclusion proof, "
               f"{_g(r, 'consistency_us_1m')} µs per consistency proof at "
               f"{_g(r, 'proof_tree_size'):,} entries; ×{_g(r, 'proof_growth_10k_to_max')} / "
               f"×{_g(r, 'consistency_growth_10k_to_max')} from 10 k "
               f"({_g(r, 'proof_reads_10k')} → {_g(r, 'proof_reads_max')} subtree reads)",
     # logarithmic: subtree reads per proof within 2·log2(n) + 2, and time nowhere near the
     # ×100 a linear proof would take from 10 k to 1 M (page-cache effects move it by ×1–3)
     "logarithmic", lambda r: (r["proof_reads_max"] <= 2 * math.log2(r["proof_tree_size"]) + 2
                               and r["proof_growth_10k_to_max"] < 10)),
    ("`audit_ratio`",
     lambda r: f"**{_g(r, 'audit_ratio')}** — `ledger verify` {_g(r, 'audit_entries_per_s')} "
               "entries/s ÷ bare verify/s",
     "≥ 0.5", lambda r: r["audit_ratio"] >= 0.5),
    ("`report_verify_ratio`",
     lambda r: f"**{_g(r, 'report_verify_ratio')}** — `eco-verify` report with full evidence, "
               f"{_g(r, 'report_readings_per_s')} readings/s ÷ bare verify/s",
     "—", lambda r: None),
    ("`bytes_per_reading`",
     lambda r: f"**{_g(r, 'bytes_per_reading')} B** per accepted reading, SQLite incl. tree and "
               f"index (PostgreSQL: {_g(r, 'bytes_per_reading_pg')} B)",
     "≤ 1024", lambda r: r["bytes_per_reading"] <= 1024),
    ("`agent_rss_mb`",
     lambda r: f"**{_g(r, 'agent_rss_mb')} MB** VmRSS in steady state "
               f"(peak {_g(r, 'agent_peak_rss_mb')} MB)",
     "≤ 36", lambda r: r["agent_rss_mb"] <= 36),
    ("`agent_cpu_ms_per_reading`",
     lambda r: f"**{_g(r, 'agent_cpu_ms_per_reading')} ms** CPU per reading, 2 meters polled "
               f"every {_g(r, 'agent_poll_seconds')} s at {_g(r, 'agent_clock_speed')}× "
               + (f"({r['agent_cpu_ms_per_reading_1poll']} ms polling once per interval)"
                  if "agent_cpu_ms_per_reading_1poll" in r else ""),
     "≤ 5", lambda r: r["agent_cpu_ms_per_reading"] <= 5),
    ("`agent_start_s`",
     lambda r: f"**{_g(r, 'agent_start_s')} s** from exec to `READY=1`",
     "—", lambda r: None),
    ("`flood_honest_p99_ms`",
     lambda r: f"**{_g(r, 'flood_honest_p99_ms')} ms** p99 (p50 {_g(r, 'flood_honest_p50_ms')}, "
               f"max {_g(r, 'flood_honest_max_ms')}) publish → receipt of an honest device "
               f"(one reading every {_g(r, 'flood_honest_period_ms')} ms) while another "
               f"enrolled device floods for {_g(r, 'flood_seconds')} s as fast as the broker "
               f"takes it ({_g(r, 'flood_msgs_per_s')} msgs/s reached `serve`, Python "
               f"client); {_g(r, 'flood_honest_on_time')} on time (≤ 1 s); without the flood "
               f"p50 {_g(r, 'flood_baseline_p50_ms')} / p99 {_g(r, 'flood_baseline_p99_ms')} "
               f"ms; {_g(r, 'flood_log_lines')} log lines, {_g(r, 'flood_rejection_rows')} "
               "rejection rows",
     "≤ 1000", lambda r: r["flood_honest_p99_ms"] <= 1000),
    ("`flood_c_honest_p99_ms`",
     lambda r: f"**{_g(r, 'flood_c_honest_p99_ms')} ms** p99 (p50 "
               f"{_g(r, 'flood_c_honest_p50_ms')}; answered {_g(r, 'flood_c_honest_answered')})"
               " with a native flooder (`mosquitto_pub -l`): the broker takes more than one "
               f"`serve` drains ({_g(r, 'flood_c_msgs_per_s')} msgs/s reached it) and queues "
               "the rest, in arrival order, in front of everyone else's messages (a broker "
               "without device logins: nothing to cut off)",
     "—", lambda r: None),
    ("`flood_cut_honest_p99_ms`",
     lambda r: f"**{_g(r, 'flood_cut_honest_p99_ms')} ms** p99 (p50 "
               f"{_g(r, 'flood_cut_honest_p50_ms')}, max {_g(r, 'flood_cut_honest_max_ms')}; "
               f"answered {_g(r, 'flood_cut_honest_answered')}) with the same native flooder "
               "against a broker with device logins: `serve` suspended the flooder's login "
               f"{_g(r, 'flood_cut_cut_off_after_ms')} ms after the flood began "
               f"({_g(r, 'flood_cut_flood_reached_serve')} flood messages reached it in all)",
     "≤ 1000", lambda r: r["flood_cut_honest_p99_ms"] <= 1000),
    ("`backlog_catchup`",
     lambda r: f"**{_g(r, 'backlog_catchup')} s** to drain {_g(r, 'backlog_readings'):,} "
               f"readings of {_g(r, 'backlog_devices'):,} devices with 2 `serve` workers on "
               f"SQLite (**{_g(r, 'backlog_readings_per_s')}/s**), none lost; on PostgreSQL "
               f"{_g(r, 'backlog_pg_catchup')} s ({_g(r, 'backlog_pg_readings_per_s')}/s); "
               "larger towns: the long run (`docs/capacity.md`)"
               + (" — scaled down (--quick)" if r.get("backlog_scaled_down") else ""),
     "≥ 4000/s", lambda r: r["backlog_readings_per_s"] >= 4000),
]


def _met(check: Callable[[dict[str, Any]], bool | None], r: dict[str, Any]) -> str:
    try:
        ok = check(r)
    except (KeyError, TypeError):
        return "?"
    return "" if ok is None else ("met" if ok else "**not met**")


def render_table(r: dict[str, Any]) -> str:
    head = (f"Measured {r.get('date', '?')} on {r.get('machine_cores', '?')} × "
            f"{r.get('machine_cpu', '?')} (load {r.get('load_average_at_start', '?')} at start), "
            f"Python {r.get('python', '?')}, cryptography {r.get('cryptography', '?')}, "
            f"SQLite {r.get('sqlite', '?')}, PostgreSQL {r.get('postgresql', '?')}, "
            f"Mosquitto {r.get('mosquitto', '?')}"
            + (" — **--quick run, scaled down**" if r.get("quick") else "") + "."
            + (f" The `ingest_*` rows are from `python -m bench.run --ingest-only` on "
               f"{r['ingest_measured']}." if "ingest_measured" in r else ""))
    lines = [head, "", "| Figure | Result | Target | |", "|---|---|---|---|"]
    for name, text, target, check in ROWS:
        try:
            cell = text(r)
        except (KeyError, TypeError, ValueError):
            cell = "n/a"
        lines.append(f"| {name} | {cell} | {target} | {_met(check, r)} |")
    return "\n".join(lines) + "\n"


def update_readme(path: Path, table: str) -> None:
    """Replace what lies between the markers; append a Benchmarks section if there are none."""
    text = path.read_text("utf-8")
    if START in text and END in text and text.index(START) < text.index(END):
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
        text = f"{before}{START}\n{table}{END}{after}"
    else:
        text = text.rstrip("\n") + f"\n\n## Benchmarks\n\n{START}\n{table}{END}\n"
    path.write_text(text, "utf-8")
