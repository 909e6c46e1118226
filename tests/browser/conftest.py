"""Real-browser fixtures: Debian's chromium driven by Playwright's sync API against pytest-django's
live_server. Outside CI the tests are skipped when chromium is missing; in CI they fail."""

import os
import re
from pathlib import Path

import pytest
from django.test.utils import override_settings

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

# Playwright's sync API keeps an event loop registered as running in this thread for the whole
# session, and Django refuses ORM calls from such a thread unless told it is safe (it is: the loop
# only drives the browser). Set at import, so tests that run after a browser test in the same
# process are covered too.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(f"{reason}: CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def _plain_http_live_server():
    """SecurityMiddleware reads SECURE_SSL_REDIRECT once, when the live server builds its handler, so
    the per-test override in tests/conftest.py comes too late for it: switch it off for the session
    (every test runs with it off anyway)."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(scope="session")
def live_server(_plain_http_live_server, live_server):
    """pytest-django's live server, started over plain HTTP."""
    return live_server


@pytest.fixture
def _plain_http_cookies(settings):
    """Production cookies are Secure; the live server speaks plain HTTP."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture
def page(request, browser, live_server, _plain_http_cookies, screenshot_dir):
    """A fresh browser context (no cookies) on the live server; a failing test leaves a screenshot."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "browser_call_failed", False):
        path = screenshot_dir / f"{request.node.name}-failure.png"
        page.screenshot(path=path, full_page=True)
        print(f"screenshot of the failure: {path}")
    context.close()


@pytest.fixture
def screenshot(page, request, screenshot_dir):
    """screenshot("name") saves the page as <tmp>/screenshots/<test>-<name>.png and returns the path."""

    def take(name: str) -> Path:
        path = screenshot_dir / f"{request.node.name}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page):
    """log_in(email) signs in through the real login form, as a person would."""

    def submit(email: str, password: str = PASSWORD) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name=re.compile(r"log\s*in|sign\s*in", re.IGNORECASE)).click()
        page.wait_for_load_state()

    return submit
