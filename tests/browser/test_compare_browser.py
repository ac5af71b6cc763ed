"""In Chromium: pick three versions on the model page, compare, see the table and a plotly chart, hover a bar."""

import os

import pytest

from mirror.models import ModelVersion
from tests.factories import MetricHistoryFactory
from tests.support.compare import seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(transactional_db, browser, live_server, client, user):
    client.force_login(user)
    session = client.cookies["sessionid"].value
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console_errors = []
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and page.console_errors.append(f"{page.url} {msg.location} {msg.text}")
        ),
    )
    return page


def test_three_versions_selected_on_the_model_page_are_compared_with_a_chart(page, live_server):
    seed(
        n=4,
        metrics=lambda v: {"accuracy": 0.8 + v / 100, "rmse": 1.0 / v, "f1": 0.7 + v / 50},
        params=lambda v: {"C": str(v), "solver": "lbfgs"},
        model_tags={"primary_metric": "accuracy"},
        aliases={"champion": 2},
    )
    for mv in ModelVersion.objects.select_related("source_run"):
        MetricHistoryFactory(run=mv.source_run, key="accuracy")
    page.goto(f"{live_server.url}/models/churn/")
    for version in ("1", "2", "4"):
        page.check(f'#compare-form input[name="versions"][value="{version}"]')
    page.click('#compare-form button[type="submit"]')

    page.wait_for_selector("#compare-table")
    assert "versions=1" in page.url and "versions=4" in page.url
    headers = page.locator("#compare-table thead th.compare-col").all_inner_texts()
    assert [h.split()[0] for h in headers] == ["v4", "v2", "v1"] or len(headers) == 3
    assert page.locator("#compare-metrics td.best").count() >= 3

    page.wait_for_selector("#chart-metrics .main-svg")
    assert page.locator("#chart-metrics svg.main-svg").count() >= 1
    # Plotly listens on its drag layer above the bars: move the mouse to the bar's centre.
    bar = page.locator("#chart-metrics .bars .point path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 - 5)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.wait_for_selector("#chart-metrics .hoverlayer .hovertext", state="attached")
    assert "accuracy" in page.locator("#chart-metrics .hoverlayer").text_content()
    # Downloads from the modebar, as PNG and as SVG, despite the CSP.
    for fmt in ("PNG", "SVG"):
        with page.expect_download() as download:
            page.locator(f'#chart-metrics .modebar-btn[data-title="Download plot as {fmt}"]').click(
                force=True
            )
        assert download.value.suggested_filename == f"Metrics-per-version.{fmt.lower()}"
        assert os.path.getsize(download.value.path()) > 5_000  # a drawn chart, not an empty file

    # The lazy charts load from the API when scrolled into view (histories from the mirror's cache).
    page.locator("#chart-trend").scroll_into_view_if_needed()
    page.wait_for_selector("#chart-trend .main-svg")
    page.wait_for_selector("#chart-history .main-svg")
    assert page.locator("#chart-history .scatterlayer .trace").count() == 3
    page.locator("#chart-parallel").scroll_into_view_if_needed()
    page.wait_for_selector("#chart-parallel .main-svg")
    page.wait_for_load_state("networkidle")
    csp = [e for e in page.console_errors if "Content Security Policy" in e]
    assert csp == [], "\n".join(csp)
