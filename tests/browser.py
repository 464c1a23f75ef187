"""Headless Chromium for the browser tests (back office, storefront): one copy of the fixtures and helpers.

Debian's ``chromium`` and ``chromium-driver``, which ``make test`` installs when missing
(:mod:`ops.browser`); a machine without them fails the tests, never skips them. A test module uses the
fixtures by name: ``tests/conftest.py`` imports them for every cross-service test.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from ops.browser import ensure_chromium
from ops.paths import VAR, ProvisionError

SCREENSHOTS = VAR / "screenshots"
# Each test's report per phase (``tests/conftest.py`` keeps them), so a fixture can tell a failed test.
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
)


@pytest.fixture(scope="module")
def chromium_paths() -> tuple[str, str]:
    try:
        found = ensure_chromium()
    except ProvisionError as exc:
        pytest.fail(str(exc))
    return found.browser, found.driver


@pytest.fixture
def browser(chromium_paths: tuple[str, str]) -> Iterator[WebDriver]:
    """A fresh headless Chromium with a profile of its own, so no cookie or stored token outlives the test."""
    binary, driver_path = chromium_paths
    with tempfile.TemporaryDirectory(prefix="test-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*HEADLESS_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def screenshot(driver: WebDriver, folder: str, name: str) -> Path:
    """Saves what the browser shows as ``var/screenshots/<folder>/<name>.png``."""
    directory = SCREENSHOTS / folder
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    return path


def gone(element: WebElement) -> bool:
    """True once ``element``'s page was replaced. Selenium's ``staleness_of`` knows only the stale-element
    error; while the page navigates, Chromium may answer "Node with given id does not belong to the
    document" instead, which means the same."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one of these
        return True
    return False


class Steps:
    """A screenshot after each step of a journey, kept in memory and written to ``var/screenshots/<folder>/<test>/``
    when the test fails (or always with ``KEEP_SCREENSHOTS=1``), for the person reading the failure."""

    def __init__(self, driver: WebDriver, folder: str) -> None:
        self.driver = driver
        self.folder = folder
        self.shots: list[tuple[str, bytes]] = []

    def __call__(self, name: str) -> None:
        self.shots.append((name, self.driver.get_screenshot_as_png()))

    def write(self, test_name: str) -> Path:
        directory = SCREENSHOTS / self.folder / re.sub(r"[^\w.-]+", "-", test_name)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for number, (name, png) in enumerate(self.shots, start=1):
            (directory / f"{number:02d}-{name}.png").write_bytes(png)
        return directory


@pytest.fixture
def steps(browser: WebDriver, request: pytest.FixtureRequest) -> Iterator[Steps]:
    recorder = Steps(browser, request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").removesuffix("_browser"))
    yield recorder
    call = request.node.stash.get(REPORTS, {}).get("call")
    if call is None or call.failed or os.environ.get("KEEP_SCREENSHOTS"):
        # The browser itself may be what failed; the steps before are written anyway.
        with contextlib.suppress(WebDriverException):
            recorder("at-the-end")
        written = recorder.write(request.node.name)
        request.node.add_report_section("teardown", "screenshots", f"a screenshot of each step in {written}")
