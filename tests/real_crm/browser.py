"""A person at a browser: headless Chromium (Debian's `chromium` and `chromium-driver`) driven through
Selenium's WebDriver, with a screenshot of every step kept under artifacts/real_crm/<profile>/.

Why Selenium and not the DevTools protocol by hand: WebDriver gives element lookups, typing, file
uploads and waits on conditions, which raw DevTools would need a websocket client and hand-written
polling for; Selenium is the browser project's own, well-kept client. It is given Debian's driver and
browser explicitly, so it never tries to download either.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .realenv import REPO, RealVtiger

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("VSB_REAL_CRM_ARTIFACTS", REPO / "artifacts" / "real_crm"))

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webelement import WebElement
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None  # type: ignore[assignment]


def skip_without_browser() -> None:
    if webdriver is None:
        pytest.skip("browser tests need selenium (pip install -e '.[test]')")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "browser tests need Debian's chromium and chromium-driver (apt-get install chromium "
            "chromium-driver)"
        )


class Browser:
    def __init__(self, real: RealVtiger, name: str) -> None:
        skip_without_browser()
        self.real = real
        self.shots = ARTIFACTS / (real.profile or "crm") / name
        if self.shots.exists():
            shutil.rmtree(self.shots)
        self.shots.mkdir(parents=True)
        self.step = 0
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1440,1000",
            "--lang=ru-RU",
        ):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
        self.driver.set_page_load_timeout(120)

    def close(self) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(f"{self.real.url}/{path.lstrip('/')}")

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.shots / f"{self.step:02d}-{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
        self.driver.save_screenshot(str(path))
        return path

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        """Poll `condition` until it returns something true; fail with a screenshot naming `what`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = condition()
            except WebDriverException:
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                shot = self.shot(f"timeout {what}")
                raise AssertionError(f"browser: {what} did not happen in {timeout:.0f} s (see {shot})")
            time.sleep(0.3)

    def visible(self, css: str) -> WebElement | None:
        for element in self.all(css):
            if element.is_displayed():
                return element
        return None

    def click(self, css: str, what: str) -> None:
        """Click the visible element; a page that re-renders it meanwhile (stale element) is tried again."""

        def attempt() -> bool:
            element = self.visible(css)
            if element is None:
                return False
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            element.click()
            return True

        self.wait(attempt, what)

    def type(self, css: str, text: str) -> None:
        def attempt() -> bool:
            element = self.visible(css)
            if element is None:
                return False
            element.clear()
            element.send_keys(text)
            return True

        self.wait(attempt, f"field {css}")

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def login(self) -> None:
        self.open("index.php")
        self.type("input[name='username']", self.real.user)
        self.type("input[name='password']", self.real.password)
        self.find("input[name='password']").submit()
        self.wait(
            lambda: "view=Login" not in self.driver.current_url and self.all(".app-navigator, #appnavigator"),
            "the CRM's start page after login",
        )
        self.shot("logged in")
