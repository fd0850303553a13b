"""What a command printed, checked for its language: Japanese lines carry Japanese and no English
catalog text or bare message code; English lines carry no Japanese."""

from __future__ import annotations

import importlib
import re
import string
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import pytest

from aggregator.cli import main
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import Device

METER = "pv1:pv_generation:sunspec-modbus:4500"  # an enrolment's --meter
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


BARE_CODE = re.compile(r"\[(eco_protocol|eco_runtime|agent|aggregator)\.[a-z_.]+\]")


@cache
def english_fragments() -> frozenset[str]:
    """Runs of words from the catalogs' English texts that their Japanese texts do not share:
    one of these in Japanese output is an untranslated message."""
    found: set[str] = set()
    for package in ("eco_protocol", "eco_runtime", "agent", "aggregator"):
        catalog: Mapping[str, Mapping[str, str]] = \
            importlib.import_module(f"{package}.messages_catalog").CATALOG
        for texts in catalog.values():
            for literal, _, _, _ in string.Formatter().parse(texts["en"]):
                frag = literal.strip(" ,;:.()")
                if frag.count(" ") >= 2 and len(frag) >= 14 and frag not in texts["ja"]:
                    found.add(frag)
    return frozenset(found)


def _lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.strip() and not ln.lstrip().startswith(
        ("{", "}", "[", "]", '"'))]  # JSON for scripts stays as it is


# the commands' frames around an error ("eco-agent: 設定の誤り: …"): Japanese of their own, so
# the message inside must have Japanese too
FRAME = re.compile(r"^eco-(agent|aggregator|verify): (設定の誤り: )?")


def assert_japanese(output: str) -> None:
    """Every line a person reads has Japanese in it (besides the command's frame), and nothing
    of the English catalog."""
    lines = _lines(output)
    assert lines, "no output"
    for line in lines:
        assert JAPANESE.search(FRAME.sub("", line)), f"untranslated line: {line!r}"
        assert not BARE_CODE.search(line), f"message code without a text: {line!r}"
        leaked = [f for f in english_fragments() if f in line]
        assert not leaked, f"English catalog text {leaked} in {line!r}"


def assert_english(output: str) -> None:
    """No Japanese and no bare code in English output."""
    lines = _lines(output)
    assert lines, "no output"
    for line in lines:
        assert not JAPANESE.search(line), f"Japanese in English output: {line!r}"
        assert not BARE_CODE.search(line), f"message code without a text: {line!r}"


LOCALES = ["ja_JP.UTF-8", "C"]


class Cli:
    """``eco-aggregator --config STATE/aggregator.toml …``: (exit status, stdout, stderr)."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.state = tmp_path / "agg"
        self.conf = str(self.state / "aggregator.toml")
        self.capsys = capsys
        assert self.run("init", str(self.state), "--origin", "eco-ledger.lang.test")[0] == 0
        assert self.run("programme", "init", "--id", "p")[0] == 0

    def run(self, *args: str) -> tuple[int, str, str]:
        rc = main(["--config", self.conf, *args])
        out, err = self.capsys.readouterr()
        return rc, out, err

    def enrol(self, d: Device, *extra: str, meter: str = METER,
              key: str | None = None) -> tuple[int, str, str]:
        return self.run("enrol", "--public-key", key or b64encode(public_key_raw(d.key)),
                        "--household", "Sato, 1-2-3 Chuo", "--programme", "p",
                        "--meter", meter, *extra)




def language_check(locale: str) -> Callable[[str], None]:
    """The check that output is in ``locale``'s language: Japanese under a ja locale, English
    otherwise."""
    return assert_japanese if locale.startswith("ja") else assert_english


def check_language(locale: str, text: str) -> None:
    """Japanese under a ja locale, English otherwise."""
    language_check(locale)(text)


def refused(cli: Cli, locale: str, result: tuple[int, str, str], rc: int = 1) -> str:
    got, out, err = result
    assert got == rc and out == "", err
    # the command's one line, last; a refused operator action is also logged before it as an
    # eco.audit record (JSON for the trail, not a message)
    line = err.strip().splitlines()[-1]
    assert line.startswith("eco-aggregator: "), err
    assert all(" eco.audit: {" in ln for ln in err.strip().splitlines()[:-1]), err
    check_language(locale, line)
    return line
