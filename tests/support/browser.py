"""Debian's Chromium launched headless (for the browser tests and docs/screenshots.py); pages logged in as a user;
one that records dialogs and CSP violations, and the check that none happened."""

CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in a container), no GPU, and none of the background services that would reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launch_chromium(playwright):
    """Debian's Chromium through a Playwright instance (`with sync_playwright() as p: launch_chromium(p)`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));
"""


def logged_in_page(browser, live_server, client, user, *, init_script: str, width=1400, height=1000):
    """A new Chromium page whose session is `user`'s, running `init_script` before every document."""
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def open_as(browser, live_server, client, user):
    page = logged_in_page(browser, live_server, client, user, init_script=WATCH)
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def assert_nothing_ran(page):
    page.wait_for_timeout(300)
    assert page.dialogs == [], page.dialogs
    violations = page.evaluate("window.__violations")
    assert violations == [], violations
