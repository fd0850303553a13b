"""The message catalogs (issue 17 point 1): every code has English and Japanese with the same
placeholders, every code the source uses exists, and the lookup picks the language the way a
person expects (--lang, ECO_LANG, the POSIX locale, English)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from eco_protocol.creditability import Rule
from eco_protocol.errors import MalformedRecord
from eco_protocol.messages import (
    LANGS,
    Msg,
    choose_lang,
    entry,
    lang_from_env,
    localize,
    msg,
    placeholders,
    render,
    said,
    text,
)
from eco_protocol.os_messages import os_reason
from eco_protocol.verdict import FAILURES, OTHER

ROOT = Path(__file__).parents[2]
PACKAGES = ("eco_protocol", "eco_runtime", "agent", "aggregator")
# the functions whose first argument is a message code
CODE_CALLS = frozenset({"text", "msg", "said", "coded", "Msg", "message_text", "_say", "_ok",
                        "say", "fatal", "_fatal"})


def _catalog(package: str) -> Mapping[str, Mapping[str, str]]:
    catalog: Mapping[str, Mapping[str, str]] = \
        importlib.import_module(f"{package}.messages_catalog").CATALOG
    return catalog


def _constant_codes(node: ast.expr) -> Iterator[str]:
    """The string constants a code argument can be: a literal or either branch of ``a if c
    else b`` (f-strings are checked by the tests of their tables)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _constant_codes(node.body)
        yield from _constant_codes(node.orelse)


def _codes_in_source() -> Iterator[tuple[str, int, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name not in CODE_CALLS:
                    continue
                for arg in node.args[:2]:  # _ok(lang, code, …) has it second
                    for code in _constant_codes(arg):
                        if code.split(".", 1)[0] in PACKAGES and "." in code:
                            yield str(path.relative_to(ROOT)), node.lineno, code


@pytest.mark.parametrize("package", PACKAGES)
def test_every_code_has_both_languages_with_the_same_placeholders(package: str) -> None:
    catalog = _catalog(package)
    assert catalog
    for code, texts in catalog.items():
        assert code.startswith(f"{package}."), code
        assert set(texts) == set(LANGS), code
        assert all(texts[lang].strip() for lang in LANGS), code
        assert placeholders(texts["en"]) == placeholders(texts["ja"]), code
        # the Japanese is Japanese: at least one kana or kanji unless it is a pure format
        if texts["en"].strip("{} ") and not set(texts["en"]) <= set("{}_ ,:.-/()0123456789") \
                and placeholders(texts["en"]) != {texts["en"].strip("{} ")}:
            assert any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"
                       for ch in texts["ja"]) or \
                texts["ja"] == texts["en"], code


def test_every_code_the_source_uses_is_in_its_catalog() -> None:
    used = list(_codes_in_source())
    assert len(used) > 50  # the scan finds the calls (eco-verify alone has dozens)
    missing = [f"{path}:{line}: {code}" for path, line, code in used if entry(code) is None]
    assert not missing, "\n".join(missing)


def test_table_driven_codes_exist() -> None:
    """Codes built from data (f-strings) rather than written out: the verdict table's rows and
    the creditability rules."""
    for row in (*FAILURES, OTHER):
        for part in ("meaning", "ask"):
            assert entry(f"eco_protocol.verdict.{row.kind}.{part}") is not None, row.kind
    for rule in Rule:
        assert entry(f"eco_protocol.rule.{rule.value}") is not None
        assert entry(f"eco_protocol.ruletext.{rule.value}") is not None
    # a device's chain (rules.check_chain): eco_protocol.finding.chain.<code>, English as is
    from eco_protocol.records import Reading
    from eco_protocol.rules import RuleViolation, check_chain
    from tests.protocol.records_kit import make_device_key, make_reading

    reading = Reading.from_dict(make_reading(make_device_key(0), seq=3, prev="ab" * 32))
    for seq, prev in ((2, reading.prev), (5, reading.prev), (3, "0" * 64)):
        with pytest.raises(RuleViolation) as got:
            check_chain(reading, seq, prev)
        assert entry(f"eco_protocol.finding.chain.{got.value.code}") is not None
        assert render(got.value, "en") == str(got.value)
        assert got.value.code in render(got.value, "ja") != str(got.value)


@pytest.mark.parametrize(("env", "lang"), [
    ({}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL overrides LANG (POSIX)
    ({"LANG": "C", "LC_MESSAGES": "ja_JP.eucJP"}, "ja"),
    ({"LANG": "ja_JP.UTF-8", "ECO_LANG": "en"}, "en"),
    ({"LANG": "C", "ECO_LANG": "ja"}, "ja"),
    ({"LANG": "C", "ECO_LANG": "fr"}, "en"),  # not a language we have: the locale decides
])
def test_language_from_the_environment(env: dict[str, str], lang: str) -> None:
    assert lang_from_env(env) == lang
    assert choose_lang(None, env) == lang
    assert choose_lang("ja", env) == "ja" and choose_lang("en", env) == "en"


def test_nested_messages_and_errors_render_in_one_language() -> None:
    e = MalformedRecord.coded("eco_protocol.verify.cannot_read", path="/x/report.json",
                              reason=os_reason(FileNotFoundError(2, "No such file")))
    assert str(e) == ("eco-verify: cannot read /x/report.json: no such file; check the path "
                      "you gave")
    assert render(e, "ja") == ("eco-verify: /x/report.json を読めません（ファイルがありません）。"
                               "指定したパスを確認してください")
    assert render(ValueError("plain"), "ja") == "plain"
    line = msg("eco_protocol.verify.ok", check=Msg("eco_protocol.verify.ev_root", {"entries": 3}))
    assert line.text("ja") == "合格 3 件のエントリからルートハッシュを再計算して一致（RFC 6962）"
    s = said("eco_protocol.check.seal", index=9)
    assert s == "seal included at entry 9; batch, period and totals match"
    assert localize(s, "ja") == "封印はログのエントリ 9 に収録。バッチ・期間・合計が一致"
    assert localize("as is", "ja") == "as is"
    assert text("eco_protocol.nope", "ja", a=1) == "[eco_protocol.nope] a=1"


def test_a_coded_error_survives_pickling() -> None:
    """Verification runs in worker processes (eco_protocol.parallel): an error comes back
    pickled and must keep its code and parameters."""
    import pickle

    e = MalformedRecord.coded("eco_protocol.verify.cannot_read", path="/r.json",
                              reason=msg("eco_protocol.os.not_found"))
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and back.message_code == e.message_code
    assert render(back, "ja") == render(e, "ja")
    s = pickle.loads(pickle.dumps(said("eco_protocol.check.seal", index=9)))
    assert localize(s, "ja") == "封印はログのエントリ 9 に収録。バッチ・期間・合計が一致"


# the modules whose findings a buyer reads inside eco-verify's 不合格 line: every error a
# person reads is raised by code (``.coded``/``.of``), none as a bare English string
_CODED_MODULES = ("report", "claims", "accounts", "fields", "encoding", "records",
                  "programme_records", "canonical", "creditability", "methodology",
                  "replay", "keys", "logkey", "dispatch", "claim_tokens", "timestamps",
                  "certificate_keys", "data_integrity", "multibase", "credentials", "did",
                  "certificate_credential")


@pytest.mark.parametrize("module", _CODED_MODULES)
def test_the_buyers_findings_are_raised_by_code(module: str) -> None:
    from eco_protocol.messages import Localized

    mod = importlib.import_module(f"eco_protocol.{module}")
    path = ROOT / "eco_protocol" / f"{module}.py"
    bare = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name) and node.exc.args):
            continue
        cls = getattr(mod, node.exc.func.id, None)
        if isinstance(cls, type) and issubclass(cls, Localized) and \
                isinstance(node.exc.args[0], ast.Constant | ast.JoinedStr | ast.BinOp):
            bare.append(f"{path.name}:{node.lineno}: {ast.unparse(node.exc)[:80]}")
    assert not bare, "\n".join(bare)


def test_echonet_class_names_have_both_languages() -> None:
    """The ECHONET Lite class names the agent puts inside a sentence (codes built from the
    class id): English as CLASS_NAMES spells it, a Japanese name besides."""
    from agent.meters.echonet_codec import CLASS_NAMES, class_name

    for class_id, english in CLASS_NAMES.items():
        name = class_name(class_id)
        assert name is not None and entry(name.code) is not None, hex(class_id)
        assert name.text("en") == english
        assert name.text("ja") != english
    assert class_name(0x0130) is None  # a class we do not name: the caller's generic words
    assert text("agent.el.no_epc", "ja", epc="E0", what=class_name(0x0288)) == \
        "低圧スマート電力量メータが EPC E0 を提供していません"
