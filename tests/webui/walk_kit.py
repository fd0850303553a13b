"""Walking the web UI as its people do (issue 17): headless Chromium at a desktop's size and at a
390×844 phone, real clicks and typing, every page checked for what a Japanese reader must not
see (:mod:`untranslated`) and for sideways scrolling on the phone.

One browser and one in-process server per test module (the fixtures in conftest.py); a walk
takes a :class:`Walker` for one screen size. ``ECO_UI_SCREENSHOTS=DIR`` copies each walk's
screenshots (``<name>-<size>.png``) to DIR: the README's pictures come from here.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from aggregator.webui.qr import qr_matrix
from tests.webui.untranslated_kit import problems, visible
from tests.webui.webui_kit import HEADLESS_ARGS, require_chromium

# name: (width, height, a phone?)
SIZES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
SHOT_MAX_HEIGHT = 1400  # a screenshot shows the page's top part, so the PNGs stay small
MIN_LABEL_PX = 10  # a chart's smallest label on the screen, in CSS px: readable at arm's length
# the operator's vocabulary (catalogue words of the console), never on the resident's pages
OPERATOR_WORDS = ("運用画面", "台帳", "チェックポイント", "J-クレジット", "機器", "隔離", "失効",
                  "連署", "擬似", "entry", "seq")


# the height on the screen of each shown chart label (hidden drawings left out), as JavaScript
_CHART_LABEL_HEIGHTS = ("Array.from(document.querySelectorAll('svg.chart text'))"
                        ".map(e => e.getBoundingClientRect().height).filter(h => h > 0)")


# the walks' browser: the desktop screen they start at, one device pixel per CSS pixel
WALK_ARGS = (*HEADLESS_ARGS, "--window-size=1280,900", "--force-device-scale-factor=1")


def chromium() -> WebDriver:
    """Headless Chromium in Japanese (the UI's default language is Japanese in any case)."""
    browser, driver = require_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in (*WALK_ARGS, "--lang=ja-JP"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.implicitly_wait(3)
    return d


def set_screen(d: WebDriver, width: int, height: int, mobile: bool) -> None:
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": mobile})


@dataclass
class Walker:
    """One person's walk at one screen size: ``size`` is a key of :data:`SIZES`;
    ``english`` the programme's English texts (:func:`untranslated.programme_english`)."""

    driver: WebDriver
    base: str
    size: str
    shots: Path
    english: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.driver.delete_all_cookies()
        width, height, mobile = SIZES[self.size]
        set_screen(self.driver, width, height, mobile)
        self.shots.mkdir(parents=True, exist_ok=True)

    @property
    def width(self) -> int:
        return SIZES[self.size][0]

    @property
    def height(self) -> int:
        return SIZES[self.size][1]

    def open(self, path: str) -> None:
        """Type an address (or follow a link from outside the UI: the QR code's)."""
        self.driver.get(path if path.startswith("http") else self.base + path)
        self.check()

    def fill(self, element_id: str, value: str) -> None:
        el = self.driver.find_element(By.ID, element_id)
        if el.get_attribute("type") == "date":  # typed dates depend on the locale's order
            self.driver.execute_script("arguments[0].value = arguments[1]", el, value)
        else:
            el.clear()
            el.send_keys(value)

    def choose(self, element_id: str, value: str) -> None:
        Select(self.driver.find_element(By.ID, element_id)).select_by_value(value)

    def click(self, by: str, selector: str) -> None:
        """Click a button or link that loads a page; wait for it; check it."""
        d = self.driver
        el = d.find_element(by, selector)
        # one round trip: mark the old page (a new page starts without the mark), then scroll
        d.execute_script("window.ecoOldPage = true; "
                         "arguments[0].scrollIntoView({block: 'center'})", el)
        el.click()
        self._next_page()

    def type_and_enter(self, element_id: str, value: str) -> None:
        """Type ``value`` and Enter into a field, as a barcode scanner does; the form submits."""
        d = self.driver
        d.execute_script("window.ecoOldPage = true")
        d.find_element(By.ID, element_id).send_keys(value + Keys.ENTER)
        self._next_page()

    def _next_page(self) -> None:
        # polled every 50 ms, not WebDriverWait's default 500 ms: a page of ours loads in tens of
        # ms, so the default added up to half a second to every click of every walk
        WebDriverWait(self.driver, 60, poll_frequency=0.05).until(lambda d: d.execute_script(
            "return window.ecoOldPage === undefined && document.readyState === 'complete'"))
        self.check()

    def text(self, element_id: str) -> str:
        return str(self.driver.find_element(By.ID, element_id).text)

    def login(self, user: tuple[str, str]) -> None:
        self.open("/login")
        self.fill("username", user[0])
        self.fill("password", user[1])
        self.click(By.ID, "login")

    def logout(self) -> None:
        self.click(By.ID, "logout")

    def check(self) -> None:
        """The page as a Japanese reader sees it: in Japanese, nothing untranslated, no
        browser error page, and on a phone no sideways scrolling."""
        d = self.driver
        source = d.page_source
        # the page's address, language, width and chart labels in one round trip to the browser
        url, lang, wide, labels = d.execute_script(f"""
            return [location.href, document.documentElement.getAttribute('lang'),
                    document.documentElement.scrollWidth, {_CHART_LABEL_HEIGHTS}];""")
        where = f"{url} at {self.size}"
        assert 'id="main-frame-error"' not in source, f"the browser shows an error: {where}"
        assert lang == "ja", where
        found = problems(visible(source), self.english)
        assert not found, f"untranslated on {where}: {found}"
        labels = [float(h) for h in labels]
        assert not labels or min(labels) >= MIN_LABEL_PX, \
            f"{where}: chart labels {min(labels):.1f} px tall (at least {MIN_LABEL_PX})"
        wide = int(wide)
        assert wide <= self.width, \
            f"{where} scrolls sideways: {wide} px > {self.width} px: {self.overflowing()}"

    def chart_label_heights(self) -> list[float]:
        """How tall each shown chart label is on the screen (hidden drawings left out)."""
        return [float(h) for h in self.driver.execute_script(
            f"return {_CHART_LABEL_HEIGHTS};")]

    def overflowing(self) -> list[str]:
        """The innermost elements reaching past the screen's right edge (for the message)."""
        return list(self.driver.execute_script("""
            const w = document.documentElement.clientWidth;
            return Array.from(document.querySelectorAll('body *'))
              .filter(e => e.getBoundingClientRect().right > w + 1 &&
                      !Array.from(e.children).some(
                          c => c.getBoundingClientRect().right > w + 1))
              .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                               (e.className && e.className.baseVal === undefined ?
                                '.' + e.className : '') + ' ' +
                               Math.round(e.getBoundingClientRect().right) + 'px');"""))

    def page_height(self) -> int:
        return int(self.driver.execute_script("return document.documentElement.scrollHeight"))

    def top(self, selector: str) -> float:
        """Where ``selector`` starts, in CSS px from the page's top."""
        return float(self.driver.execute_script(
            "return document.querySelector(arguments[0]).getBoundingClientRect().top "
            "+ window.scrollY", selector))

    def shot(self, name: str, height: int | None = None) -> Path:
        """A screenshot of the page's top (``height`` px, else the page up to
        :data:`SHOT_MAX_HEIGHT`), saved as ``<name>-<size>.png``."""
        width, screen, mobile = SIZES[self.size]
        h = height or min(SHOT_MAX_HEIGHT, max(screen, self.page_height()))
        set_screen(self.driver, width, h, mobile)
        self.driver.execute_script("window.scrollTo(0, 0)")
        path = self.shots / f"{name}-{self.size}.png"
        self.driver.save_screenshot(str(path))
        set_screen(self.driver, width, screen, mobile)
        publish = os.environ.get("ECO_UI_SCREENSHOTS")
        if publish:
            Path(publish).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(publish) / path.name)
        return path


# --- the QR code a page shows -----------------------------------------------------------------

RUN_RE = re.compile(r"M(\d+),(\d+)h(\d+)v1h-\d+z")


def qr_modules(svg: str) -> list[list[bool]]:
    """The module matrix an SVG of :func:`aggregator.webui.qr.qr_svg` draws (its path is one
    run of dark modules per ``M x,y h w v1 h-w z``), as a scanner sees the squares."""
    box = re.search(r'viewBox="0 0 (\d+) \1"', svg)
    assert box is not None, "not a QR code of qr_svg"
    n = int(box.group(1))
    matrix = [[False] * n for _ in range(n)]
    for x, y, w in ((int(a), int(b), int(c)) for a, b, c in RUN_RE.findall(svg)):
        for i in range(x, x + w):
            matrix[y][i] = True
    return matrix


def shows_qr_of(svg: str, text: str) -> bool:
    """Whether the drawn QR code encodes ``text``: the same modules as the encoder's matrix
    of it (the encoding is deterministic, so equal modules mean equal content)."""
    return qr_modules(svg) == qr_matrix(text)


__all__ = ["MIN_LABEL_PX", "OPERATOR_WORDS", "SIZES", "WALK_ARGS", "Walker", "chromium",
           "qr_modules", "set_screen", "shows_qr_of"]
