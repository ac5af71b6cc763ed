"""The every-page browser sweep's machinery: the pages (every GET route of the URL configuration, its parameters
filled from tests/support/page_world.py), who visits each (tests/support/authz_rules.py), and one visit in
Chromium with everything it must not see: CSP violations, console errors, uncaught errors, failed same-origin
requests, an XSS canary set, a dialog, markup no page of ours holds (tests/support/xss.DANGEROUS_DOM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from audit import roles
from tests.support import authz_matrix as matrix
from tests.support import authz_rules as rules
from tests.support.authz_world import World
from tests.support.browser import WATCH
from tests.support.xss import DANGEROUS_DOM, canary_text

# GET routes that are not HTML pages a browser renders, each with its reason; every other GET route must have
# at least one instance visited, so a new page cannot be skipped silently.
NOT_PAGES = {
    "/api/schema/": "the OpenAPI schema (YAML)",
    "/api/docs/": "Swagger UI, drf-spectacular's page, exempt from the CSP by design (its inline bootstrap)",
    "/healthz": "plain text for the container healthcheck",
    "/compare/csv": "a CSV download",
    "/cards/exports/{pk}/download/": "a zip download",
    "/evidence/{pk}/download/": "a zip download",
    "/packages/{pk}/download/": "the package file, streamed from MLflow",
    "/models/{name}/versions/{version}/card/export/": "an attachment: its HTML form is rendered by EXPORTS",
    "/oidc/authenticate/": "a redirect to the identity provider (404 with single sign-on off)",
    "/oidc/callback/": "the identity provider's redirect back (404 with single sign-on off)",
    "/promotions/sso-sign/callback/": "a redirect back to the promotion signed through single sign-on",
}
# Exports opened as documents (attachments rendered here as the browser would show the file, under their CSP).
EXPORTS = ("/models/{name}/versions/{version}/card/export/?format=html",)
# The roles visits rotate through, each page instance seen by the next one that may see it (the pass without
# the CSP sees each as staff, who sees the most).
ROTATION = (roles.APPROVERS, roles.ML_ENGINEERS, roles.STAFF, roles.AUDITORS, roles.REVIEWERS, rules.READER)

RECORD = (
    WATCH
    + """
window.__cspViolations = window.__violations;
"""
)

# The pages' scripts, run: lazy charts scrolled into view (they fetch), then every plotly trace's hover label
# and every lineage node's side panel, and the downstream highlight.
REVEAL = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const lazy = document.querySelectorAll('[data-lazy-chart]');
  lazy.forEach(s => s.scrollIntoView());
  return lazy.length;
}"""
EXERCISE = """() => {
  let hovered = 0;
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    (gd.data || []).forEach((trace, i) => {
      try { window.Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: 0}]); hovered++; } catch (e) {}
    });
  }
  let tapped = 0;
  if (window.lineageCy) {
    window.lineageCy.nodes().forEach(n => { n.emit('tap'); tapped++; });
    const down = document.getElementById('lineage-downstream');
    if (down) down.click();
  }
  return {hovered, tapped};
}"""

GET_FORMS = """() => [...document.querySelectorAll('form')]
  .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'get')
  .map(f => ({action: f.action, names: [...new Set([...f.elements].filter(e => e.name).map(e => e.name))]}))"""


@dataclass(frozen=True)
class Visit:
    template: str
    path: str
    role: str | None  # None: anonymous


@dataclass
class Sweep:
    base: str
    problems: list = field(default_factory=list)  # (where, role, kind, detail)
    seen: set = field(default_factory=set)  # templates with a page rendered
    hovered: int = 0
    tapped: int = 0
    loads: int = 0


def production_paths(world: World, name: str, digest: str) -> dict[str, list[str]]:
    """Query strings naming an object of the world, where a page is about one (beside the bare page)."""
    selection = "?" + urlencode({"model": name, "versions": "1,2,3"})
    return {
        "/lineage/dataset/": ["?" + urlencode({"digest": digest})],
        "/compare/": ["", selection, selection + "&only_diff=1"],
        "/accounts/login/": ["", "?" + urlencode({"next": canary_text("next_param", 300)})],
        "/promotions/": ["", "?tab=inbox", "?tab=mine"],
        "/models/{name}/rollback/": ["?target=production"],
    }


def _allowed(template: str, subject: rules.Subject) -> list[str | None]:
    rule = rules.PAGE_RULES[("GET", template)]
    if rule is rules.anyone:
        return [None]
    return [
        r
        for r in rules.ROLES
        if rules.expected("page", "GET", rule, rules.Actor(r, "session"), subject) == rules.ALLOW
    ]


def visits(
    world: World, queries: dict[str, list[str]], *, rotate: bool = True
) -> tuple[list[Visit], list[str]]:
    """Each page instance (and its query variants) as one role that may see it: the next in ROTATION, or staff
    (`rotate=False`) when staff may; and the templates no instance could be made for."""
    planned, unresolved, turn = [], [], 0
    for template in matrix.page_templates():
        if ("GET", template) not in rules.PAGE_RULES or template in NOT_PAGES:
            continue  # a form's POST (its page is visited), or not a page
        found = matrix.instances(matrix.Operation("page", "GET", template), world, queries={})
        if isinstance(found, str):
            unresolved.append(f"{template}: {found}")
            continue
        for inst in found:
            allowed = _allowed(template, inst.subject)
            if not allowed:
                unresolved.append(f"{template}: nobody may see it")
                continue
            order = (
                ROTATION[turn % len(ROTATION) :] + ROTATION[: turn % len(ROTATION)]
                if rotate
                else (roles.STAFF,)
            )
            who = next((r for r in order if r in allowed), allowed[0])
            turn += 1
            planned += [Visit(template, inst.path + query, who) for query in queries.get(template, [""])]
    return planned, unresolved


def open_context(browser, base: str, session: str | None, *, bypass_csp: bool = False):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=bypass_csp)
    if session:
        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
    context.add_init_script(RECORD)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.notes = []
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not (m.location.get("url") == page.url and m.text.startswith("Failed to load resource"))
            # the icon Chromium asks for by itself when a document names none (an htmx partial, an export)
            and not m.location.get("url", "").endswith("/favicon.ico")
            and page.notes.append(("console", m.text))
        ),
    )
    page.on("pageerror", lambda e: page.notes.append(("uncaught", str(e))))
    page.on("dialog", lambda d: (page.notes.append(("dialog", d.message)), d.dismiss()))
    # ERR_ABORTED: a request the next navigation cancelled (an htmx poll of the page left), not a failure.
    page.on(
        "requestfailed",
        lambda r: (
            r.url.startswith(base)
            and r.failure != "net::ERR_ABORTED"
            and page.notes.append(("request failed", f"{r.url} {r.failure}"))
        ),
    )
    page.on(
        "response",
        lambda r: (
            r.url.startswith(base)
            and r.status >= 400
            and r.request.resource_type != "document"
            and page.notes.append(("request failed", f"{r.status} {r.url}"))
        ),
    )
    return page


def check(sweep: Sweep, page, where: str, role: str | None) -> None:
    """Everything the page must not show, after its interactive parts ran."""
    if page.evaluate(REVEAL):
        page.wait_for_load_state("networkidle")
    done = page.evaluate(EXERCISE)
    sweep.hovered += done["hovered"]
    sweep.tapped += done["tapped"]
    page.wait_for_timeout(50)
    found = list(page.notes)
    found += [("csp violation", v) for v in page.evaluate("window.__cspViolations || []")]
    canary = page.evaluate("window.__xss === undefined ? null : String(window.__xss)")
    if canary is not None:
        found.append(("xss ran", f"canary set by the payload of {canary}"))
    found += [("dangerous markup", d) for d in page.evaluate(DANGEROUS_DOM)]
    for kind, detail in found:
        sweep.problems.append((where, role or "anonymous", kind, detail[:300]))
    page.notes.clear()


def visit(sweep: Sweep, page, v: Visit, *, csp: str | None, statuses=(200,)) -> list[dict]:
    """One page: loaded, exercised, checked; returns its GET forms (search boxes) for the reflection pass.
    `statuses`: the answers expected (a filter refusing a payload says so in a 400 page, checked as well)."""
    page.notes.clear()
    response = page.goto(sweep.base + v.path)
    sweep.loads += 1
    where = f"{v.template} {v.path}" if v.path != v.template else v.template
    if response is None or response.status not in statuses:
        sweep.problems.append((where, v.role or "anonymous", "status", str(response and response.status)))
        page.notes.clear()
        return []
    if not response.headers.get("content-type", "").startswith("text/html"):
        sweep.problems.append((where, v.role, "not html", response.headers.get("content-type", "")))
        return []
    if csp is not None and response.headers.get("content-security-policy") != csp:
        sweep.problems.append(
            (where, v.role, "csp header", str(response.headers.get("content-security-policy")))
        )
    sweep.seen.add(v.template)
    check(sweep, page, where, v.role)
    return page.evaluate(GET_FORMS)


def reflected(forms: list[dict], base: str, label: str) -> list[str]:
    """Each GET form submitted with a payload in every field (search boxes, filters, reflected parameters)."""
    paths = set()
    for form in forms:
        parts = urlsplit(form["action"])
        if form["names"] and form["action"].startswith(base):
            query = urlencode({n: canary_text(f"{label}_{n}", 400) for n in form["names"]})
            paths.add(f"{parts.path}?{query}")
    return sorted(paths)


def print_table(sweep: Sweep, title: str) -> None:
    print(f"\n{title}: {len(sweep.seen)} page templates, {sweep.loads} page loads, {sweep.hovered} chart hovers, "
          f"{sweep.tapped} graph taps, {len(sweep.problems)} problems")  # fmt: skip
    for where, role, kind, detail in sweep.problems:
        print(f"PROBLEM  {where[:90]:<90} {role:<14} {kind:<16} {detail}")
