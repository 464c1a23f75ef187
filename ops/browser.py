"""The headless browser of the back-office test (tests/test_backoffice_browser.py): Debian's Chromium.

``make test`` calls :func:`ensure_chromium` before the suites: the ``chromium`` and
``chromium-driver`` packages are installed when missing (as root, through :mod:`ops.apt`), and a
machine where they cannot be is an error, never a skipped test, because the back office would
then go untested in a browser.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from ops import apt
from ops.paths import ProvisionError

PACKAGES = ["chromium", "chromium-driver"]


@dataclass(frozen=True)
class Chromium:
    browser: str  # the chromium binary
    driver: str  # chromedriver, which Selenium drives it through


def find_chromium() -> Chromium | None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    return Chromium(browser, driver) if browser and driver else None


def ensure_chromium() -> Chromium:
    """Chromium and its driver, installed from Debian's packages when missing; ProvisionError when impossible."""
    found = find_chromium()
    if found is not None:
        return found
    if not apt.can_install():
        raise ProvisionError(
            "The back-office browser test needs Chromium and chromedriver. Install them (as root: "
            "apt-get install chromium chromium-driver) or run make test as root, which installs them."
        )
    apt.install(PACKAGES)
    found = find_chromium()
    if found is None:
        raise ProvisionError(
            "apt-get installed chromium and chromium-driver, yet chromium or chromedriver is not on PATH."
        )
    return found
