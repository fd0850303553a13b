"""Red team of the buyer's consumption CSV (eco_protocol/hourly_matching.py): an absurd value
— an exponent past Decimal's range, or more Wh in one hour than any consumer draws — is refused
naming its line and column, in Japanese and English, instead of escaping as an arithmetic error
or as an integer too long to print in the report's CSV and JSON."""

from __future__ import annotations

import pytest

from eco_protocol.hourly_matching import MAX_HOUR_WH, ConsumptionError, parse_consumption
from eco_protocol.messages import render

_HEAD = "hour_start,consumption_kwh\n2026-05-01T09:00+09:00,1\n"


@pytest.mark.parametrize("value", ["1e999999999", "1e5000", "9" * 4000,
                                   str(MAX_HOUR_WH // 1000 + 1)])
def test_an_absurd_value_is_refused_naming_line_and_column(value: str) -> None:
    with pytest.raises(ConsumptionError) as e:
        parse_consumption(_HEAD + f"2026-05-01T10:00+09:00,{value}\n")
    en, ja = render(e.value, "en"), render(e.value, "ja")
    assert "line 3, column 2 (consumption_kwh)" in en and "at most" in en, en
    assert "3 行目 2 列目" in ja and "上限" in ja, ja


def test_the_largest_allowed_hour_is_read() -> None:
    (_, hour) = parse_consumption(_HEAD + f"2026-05-01T10:00+09:00,{MAX_HOUR_WH // 1000}\n")
    assert hour.wh == MAX_HOUR_WH
