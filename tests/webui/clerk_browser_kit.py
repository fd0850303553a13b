"""Chromium as a Japanese town-hall clerk's browser runs (issue 17): Japanese locale and
languages, the clock in Asia/Tokyo, so a date input shows ``2026/11/22`` rather than the
``11/22/2026`` of an American default, and ``new Date()`` on a page is JST.

A clerk's Chromium takes the date format from its UI language (ja). The Debian chromium the
tests run ships only the en-US UI locale, so the walks ask Blink to format a form control by the
page's ``lang`` (``<html lang="ja">``, the feature ``LangAttributeAwareFormControlUI``) — the
same ICU pattern a ja UI gives. The rest are the options of :func:`tests.webui.walk_kit.chromium`
(headless, no sandbox, 1280×900 at scale 1), which the walks' screenshots depend on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.webui.walk_kit import WALK_ARGS
from tests.webui.webui_kit import require_chromium

TIMEZONE: Final = "Asia/Tokyo"
LOCALE: Final = "ja-JP"
# what makes a browser Japanese, beside walk_kit's WALK_ARGS
JAPANESE_ARGS: Final = ("--lang=ja-JP", "--accept-lang=ja-JP,ja",
                        "--enable-blink-features=LangAttributeAwareFormControlUI")


def clerk_chromium() -> WebDriver:
    """Headless Chromium in Japanese, in Tokyo's time zone."""
    browser, driver = require_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in (*WALK_ARGS, *JAPANESE_ARGS):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "ja-JP,ja"})
    # the browser process's zone and language: chromedriver starts it with this environment
    env = {**os.environ, "TZ": TIMEZONE, "LANG": "ja_JP.UTF-8", "LANGUAGE": "ja"}
    d = webdriver.Chrome(service=Service(driver, env=env), options=opts)
    # the page's Intl locale and zone (the en-US-only build would keep Intl in en-US)
    d.execute_cdp_cmd("Emulation.setLocaleOverride", {"locale": LOCALE})
    d.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": TIMEZONE})
    d.implicitly_wait(3)
    return d


@contextmanager
def clerk_browser() -> Iterator[WebDriver]:
    """:func:`clerk_chromium` for a module's walks, quit at the end."""
    driver = clerk_chromium()
    try:
        yield driver
    finally:
        driver.quit()


def runs_as_a_clerk(d: WebDriver) -> bool:
    """The page's Intl locale, language and time zone are Japanese (checked on a loaded page)."""
    got = d.execute_script("const o = Intl.DateTimeFormat().resolvedOptions();"
                           "return [o.locale, navigator.language, o.timeZone];")
    return list(got) == [LOCALE, LOCALE, TIMEZONE]


__all__ = ["JAPANESE_ARGS", "LOCALE", "TIMEZONE", "clerk_browser", "clerk_chromium",
           "runs_as_a_clerk"]
