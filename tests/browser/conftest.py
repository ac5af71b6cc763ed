"""Fixtures of the Chromium tests (the browser itself is in tests/conftest.py)."""

import pytest

from tests.support.browser import logged_in_page

# Every CSP violation, whatever reports it: the event fires for blocked scripts, eval, styles and images.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sourceFile || "")
    + ":" + e.lineNumber);
});
"""


@pytest.fixture
def open_page(browser, live_server, client):
    """open_page(user, path, width=1400) -> a page logged in as `user`, recording errors and violations."""

    def open_(user, path: str, width: int = 1400):
        page = logged_in_page(
            browser, live_server, client, user, init_script=RECORD_VIOLATIONS, width=width, height=900
        )
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: page.console_errors.append(f"uncaught: {exc}"))
        response = page.goto(live_server.url + path)
        assert response.ok, (path, response.status)
        return page

    return open_
