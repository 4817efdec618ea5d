"""The playground in a real browser: headless Chromium (Debian's) through Selenium and chromedriver.

Takes an assessment from the composer to the result in the channel, switches person, opens the Home
tab, and saves a screenshot to tests/artifacts/ (the README shows one). Skipped, saying why, only
when no browser is installed (scripts/browser installs Debian's chromium and chromium-driver).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from playground.drive import STANDARD_ANSWERS

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no headless browser: install Debian's chromium and chromium-driver (scripts/browser does)",
)


def _drive(base: str) -> list[str]:
    """The whole visit, synchronously (Selenium), while the playground serves from the test's loop."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    seen: list[str] = []
    try:
        wait = WebDriverWait(browser, 20)
        browser.get(base)
        browser.execute_script("localStorage.clear()")
        browser.get(base)
        wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "ml-platform"))
        composer = browser.find_element(By.ID, "text")
        composer.send_keys("/maturity start google\n")
        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), "Question 1 of"))
        seen.append("question")
        for _ in range(20):  # the last answer of every question, as a person clicks through
            answers = [  # the practices, least to most mature ("Not sure" and "Not applicable" last)
                b
                for b in browser.find_elements(
                    By.CSS_SELECTOR, '.msg.ephemeral button[data-action^="answer:"]'
                )
                if not (b.get_attribute("data-value") or "").endswith(STANDARD_ANSWERS)
            ]
            if not answers:
                break
            before = browser.find_element(By.ID, "messages").text

            def moved(b: webdriver.Chrome, old: str = before) -> bool:
                return bool(b.find_element(By.ID, "messages").text != old)

            answers[-1].click()
            wait.until(moved)

        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), "Only you can see this"))
        seen.append("private preview")
        browser.find_element(By.CSS_SELECTOR, '.msg.ephemeral button[data-action="share_result"]').click()

        def posted(b: webdriver.Chrome) -> bool:
            return bool(b.find_elements(By.CSS_SELECTOR, ".msg.message"))

        wait.until(posted)
        seen.append("result in channel")
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "playground.png"))
        Select(browser.find_element(By.ID, "person")).select_by_value("U222")
        wait.until(lambda b: "Only visible to you" not in b.find_element(By.ID, "messages").text)
        assert browser.find_elements(By.CSS_SELECTOR, ".msg.message")  # bo sees the posted result
        seen.append("switched person")
        browser.find_element(By.ID, "home-link").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), "Your MLOps maturity"))
        seen.append("home tab")
        # The renderer itself: Slack's mrkdwn, and a visible placeholder for what it does not know.
        html = browser.execute_script(
            "return mrkdwn('*bold* _it_ ~gone~ `code` <https://example.com|a link> "
            "<@U111> <#C111> :warning:');"
        )
        for part in ("<b>bold</b>", "<i>it</i>", "<s>gone</s>", "<code>code</code>", 'href="https://example.com"',
                     "@ana", "#ml-platform", "⚠️"):  # fmt: skip
            assert part in html, (part, html)
        placeholder = browser.execute_script(
            "return blocks([{type: 'video', title: {type: 'plain_text', text: 'x'}}, "
            "{type: 'actions', elements: [{type: 'datepicker', action_id: 'd'}]}], () => {}).textContent;"
        )
        assert "Unsupported Block Kit: block video" in placeholder
        assert "Unsupported Block Kit: element datepicker" in placeholder
        seen.append("renderer")
        browser.save_screenshot(str(ARTIFACTS / "playground-home.png"))
    finally:
        browser.quit()
    return seen


async def test_the_playground_in_headless_chromium(page: str) -> None:
    started = time.monotonic()
    seen = await asyncio.wait_for(asyncio.to_thread(_drive, page), 120)
    assert seen == [
        "question",
        "private preview",
        "result in channel",
        "switched person",
        "home tab",
        "renderer",
    ]
    assert (ARTIFACTS / "playground.png").stat().st_mtime >= time.time() - (time.monotonic() - started) - 5
