"""eco_runtime.toml_section: each getter's message names the table and key, with the caller's
error type; unknown keys are refused when the section is opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from eco_runtime.toml_section import Section, TomlSectionError, config_path, table


class _MyError(Exception):
    pass


def test_unknown_keys_are_refused_with_the_allowed_list() -> None:
    with pytest.raises(_MyError, match=r"^\[x\]: unknown key\(s\) b, c; allowed: a, d$"):
        Section({"a": 1, "b": 2, "c": 3}, "[x]", {"d", "a"}, error=_MyError)


def test_default_error_is_a_value_error() -> None:
    with pytest.raises(TomlSectionError) as info:
        Section({"b": 1}, "[x]", {"a"})
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("data", "call", "message"), [
    ({}, lambda s: s.req_str("k"), '[x] k is missing: add k = "…"'),
    ({"k": " "}, lambda s: s.req_str("k"), "[x] k must not be empty"),
    ({"k": 1}, lambda s: s.str_("k"), "[x] k must be a string in quotes, got 1"),
    ({"k": True}, lambda s: s.int_("k", 0, 0, 9), "[x] k must be a whole number, got True"),
    ({"k": 10}, lambda s: s.int_("k", 0, 0, 9), "[x] k = 10 is out of range: use 0–9"),
    ({"k": float("nan")}, lambda s: s.float_("k", 0.0, 0, 1), "[x] k must be a number, got nan"),
    ({"k": 2.5}, lambda s: s.float_("k", 0.0, 0, 1), "[x] k = 2.5 is out of range: use 0–1"),
    ({"k": "yes"}, lambda s: s.bool_("k", False), "[x] k must be true or false, got 'yes'"),
])
def test_each_getter_names_the_key(data: dict[str, object], call: object, message: str) -> None:
    s = Section(data, "[x]", {"k"}, error=_MyError)
    with pytest.raises(_MyError) as info:
        call(s)  # type: ignore[operator]
    assert str(info.value) == message


def test_getters_return_values_and_defaults() -> None:
    s = Section({"a": "v", "n": 3, "f": 2, "b": True}, "[x]", {"a", "n", "f", "b", "z"})
    assert s.str_("a") == "v" and s.str_("z", "d") == "d" and s.req_str("a") == "v"
    assert s.int_("n", 0, 0, 9) == 3 and s.int_("z", 4, 0, 9) == 4
    assert s.float_("f", 0.0, 0.0, 9.0) == 2.0 and isinstance(s.float_("f", 0.0, 0.0, 9.0), float)
    assert s.bool_("b", False) is True and s.bool_("z", False) is False


def test_table_and_config_path(tmp_path: Path) -> None:
    assert table({}, "t") == {}
    with pytest.raises(_MyError, match=r"^\[t\] must be a table \(\[t\] header\), got int$"):
        table({"t": 1}, "t", error=_MyError)
    assert config_path("a/b", tmp_path) == tmp_path / "a" / "b"
    assert config_path("/abs", tmp_path) == Path("/abs")
    assert config_path("rel", None) == Path("rel")
