"""Browser harness: the real app on a free port, driven by Playwright on Debian's Chromium.

Every test gets its own server and database. `assert_accessible(page)` runs axe-core and
fails on any WCAG 2.1 A/AA violation; a failing test leaves a screenshot in tests/artifacts/.
"""

import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.conftest import require_or_skip

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class LiveServer:
    """The app served by werkzeug in a background thread."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(make_app):
    """A running server for a fresh app; `live_server.url` is its base address."""
    server = LiveServer(make_app()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_browser():
    """One Chromium for the whole run."""
    if not os.path.exists(CHROMIUM):
        require_or_skip(f"browser not available: no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("browser not available: the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


class BrowserSession:
    """A browser context plus a record of every request it made."""

    def __init__(self, browser, base_url, javascript=True):
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, java_script_enabled=javascript,
                                           viewport={"width": 1280, "height": 900})
        self.requests = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)

    def foreign_requests(self):
        """Requests that left this site (data: URLs stay inside the page)."""
        return [url for url in self.requests if not url.startswith((self.base_url, "data:", "about:"))]


def _save_screenshot(request, session):
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        try:
            session.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:  # a screenshot must never hide the real failure
            pass


@pytest.fixture
def browser_session(playwright_browser, live_server, request):
    """A fresh browser context on the live server, with JavaScript on."""
    session = BrowserSession(playwright_browser, live_server.url)
    yield session
    _save_screenshot(request, session)
    session.context.close()


@pytest.fixture
def page(browser_session):
    """The Playwright page of `browser_session`."""
    return browser_session.page


@pytest.fixture
def no_js_page(playwright_browser, live_server, request):
    """A page with JavaScript disabled, on the same live server."""
    session = BrowserSession(playwright_browser, live_server.url, javascript=False)
    yield session.page
    _save_screenshot(request, session)
    session.context.close()


def assert_accessible(page, context=None):
    """Fail with a readable list if axe-core finds any WCAG 2.1 A/AA violation on `page`."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, context=context, options=options)
    violations = results.response.get("violations", [])
    if violations:
        lines = []
        for violation in violations:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
        pytest.fail(f"axe found {len(violations)} WCAG 2.1 A/AA violation(s) on {page.url}:\n" + "\n".join(lines))


def save_step_screenshot(page, name):
    """Save a named screenshot of a journey step under tests/artifacts/ (kept even on success)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, user):
    """Sign `user` in through the real forms: email and password, then the authenticator code if asked."""
    import pyotp

    page.goto("/staff/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    # Wait for the answer page itself: the sign-in page's own load state is already reached, so
    # reading page.url right after the click may still see the form on a busy machine.
    page.wait_for_url(lambda url: urlsplit(url).path != "/staff/login")
    if urlsplit(page.url).path == "/staff/login/code":
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(user.totp).now())
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: not urlsplit(url).path.startswith("/staff/login"))
