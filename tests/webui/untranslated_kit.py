"""What counts as untranslated on a Japanese page (issue 17.1), shared by the TestClient walk
(test_webui_translated) and the browser walks (walk.py): a catalogue key shown as itself, an
English code string (rule codes, flags, protocol names the agent does not use), an English
sentence the code wrote, a UTC time, and the programme's own texts (programme.toml) left in
English where the operator's configuration can give them in Japanese."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

from aggregator.webui.i18n import CATALOGUE
from eco_protocol.creditability import Rule

# the first part of every catalogue key (app, nav, enrol, rule, …): "<prefix>.<rest>" in the
# text is a key shown as itself, i.e. missing from the catalogue or never passed through t()
PREFIXES = sorted({k.split(".", 1)[0] for k in CATALOGUE if "." in k})
KEY_RE = re.compile(rf"(?<![\w.\-/])(?:{'|'.join(PREFIXES)})\.[a-z_][\w.\-]*(?![\w\-])")
# file names and host names (a witness's name, "witness.neighbour.test") are not keys
FILES = (".json", ".toml", ".csv", ".zip", ".pdf", ".html", ".crt", ".sqlite3", ".test",
         ".example", ".jp", ".com", ".org", ".net")

# English the code writes, which a Japanese reader must never see
CODES = [r.value for r in Rule] + ["export_unmetered", "battery_excluded", "post_fit",
                                   "echonet-lite", "mqtt-json"]
CODE_RE = re.compile(rf"(?<![\w\-]){'|'.join(map(re.escape, CODES))}(?![\w\-])")
ENGLISH = ("must be", "not creditable", "is missing", "PV without", "battery: PV",
           "already enrolled", "already revoked", "overlaps batch", "expected id:quantity",
           "cannot enrol", "is not a valid", "fit.installed", "fit.status", "fit.battery",
           "fit.ev", "meters[]", "--period", "--meter", "Municipal pool")
UTC_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\bUTC\b")
# any English phrase of four words or more: a sentence the code wrote and nobody translated
PHRASE_RE = re.compile(r"[A-Za-z][a-z]+(?:[ ,'-]+[a-z]+){3,}")
# a command quoted in a sentence ("eco-verify --min-witnesses 1 で…"): typed as written, in
# any language
COMMAND_RE = re.compile(r"\b(?:eco-verify|eco-agent|eco-aggregator|systemctl)(?: +[\w./:-]+)*")
# two English words in a row: prose, as opposed to an identifier ("EN-R-002", "n/a") or a formula
PROSE_RE = re.compile(r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}")


def visible(page: str) -> str:
    """What a reader sees: the text without tags (the page's own <title> included), plus the
    attributes a browser shows (placeholder, title, alt, aria-label, a button's value)."""
    shown = re.findall(r'(?:placeholder|title|alt|aria-label)="([^"]*)"', page)
    shown += re.findall(r'<input[^>]*type="submit"[^>]*value="([^"]*)"', page)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = re.sub(r"<(pre|code)\b[^>]*>.*?</\1>", " ", text, flags=re.S)  # commands, notes
    text = re.sub(r'<[^>]*class="[^"]*\bmono\b[^"]*"[^>]*>[^<]*<', "<", text)  # ids, hashes
    return html.unescape(re.sub(r"<[^>]+>", " ", text) + " " + " ".join(shown))


def programme_english(programme_toml: Path) -> list[str]:
    """The English prose of programme.toml (the programme's name, the operator, the factors'
    sources, the rewards' names …), longest first: each has a Japanese form in the
    configuration (``name_ja``, ``operator_ja``, ``source_ja`` …), so a Japanese page showing
    one of them shows the wrong language. Identifiers and ``*_ja`` values are not prose."""
    def strings(v: object, key: str = "") -> list[str]:
        if isinstance(v, str):
            return [] if key.endswith("_ja") or key == "id" else [v]
        if isinstance(v, dict):
            return [s for k, x in v.items() for s in strings(x, k)]
        if isinstance(v, list):
            return [s for x in v for s in strings(x, key)]
        return []

    with open(programme_toml, "rb") as f:
        found = {s for s in strings(tomllib.load(f)) if PROSE_RE.search(s)}
    return sorted(found, key=len, reverse=True)


def problems(text: str, english: list[str] = []) -> list[str]:  # noqa: B006 (never mutated)
    """Everything in ``text`` (a Japanese page's :func:`visible` text) a Japanese reader should
    not see; ``english`` are the programme's English texts (:func:`programme_english`)."""
    found = [e for e in english if e in text]
    for e in english:
        text = text.replace(e, " ")
    text = COMMAND_RE.sub(" ", text)
    found += PHRASE_RE.findall(text)
    found += [k for k in KEY_RE.findall(text) if not k.endswith(FILES)]
    found += CODE_RE.findall(text)
    found += [w for w in ENGLISH if w in text]
    found += UTC_RE.findall(text)
    return found


__all__ = ["CODES", "ENGLISH", "KEY_RE", "PHRASE_RE", "problems", "programme_english",
           "visible"]
