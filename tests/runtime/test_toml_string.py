"""``toml_string``: one writer of TOML strings for the enrolment page's agent.toml snippet and
``eco-agent provision`` (it was written twice, once in each)."""

from __future__ import annotations

import tomllib

from hypothesis import given
from hypothesis import strategies as st

from eco_runtime.toml_section import toml_string


@given(st.text(st.characters(exclude_categories=("Cs",))))
def test_any_text_reads_back_as_itself(value: str) -> None:
    assert tomllib.loads(f"x = {toml_string(value)}")["x"] == value


def test_quotes_backslashes_and_controls_are_escaped() -> None:
    assert toml_string('a"b\\c\n\x7f') == '"a\\"b\\\\c\\u000a\\u007f"'
