"""In Chromium: a version's lineage graph; click the dataset node, read its digest, highlight its downstream path."""

from pathlib import Path

import pytest

from tests.lineage.test_lineage_api import govern, seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def click_node(page, node_id):
    """A real mouse click at the node's place on the screen (cytoscape draws on a canvas)."""
    point = page.evaluate(
        """id => { const n = window.lineageCy.getElementById(id); const p = n.renderedPosition();
                   const box = document.getElementById('lineage-graph').getBoundingClientRect();
                   return {x: box.left + p.x, y: box.top + p.y}; }""",
        node_id,
    )
    page.mouse.click(point["x"], point["y"])


def test_the_dataset_node_shows_its_digest_and_its_downstream_path(open_page, user):
    mv = seed(datasets=1)
    govern(mv)
    page = open_page(user, "/lineage/churn/1/")
    page.wait_for_selector("#lineage-graph[data-ready='1']")
    click_node(page, "dataset:d0")
    page.wait_for_selector("#lineage-side-attrs dd[data-attr='digest']")
    assert page.text_content("#lineage-side-attrs dd[data-attr='digest']") == "d0"
    assert page.text_content("#lineage-side-title") == "data-d0"

    page.click("#lineage-downstream")
    highlighted = page.evaluate("window.lineageCy.elements('.path').map(e => e.id())")
    nodes = {i for i in highlighted if ":" in i}
    assert {"dataset:d0", "run:runchurn1", "model_version:churn/1", "registered_model:churn"} <= nodes
    assert any(i.startswith("target:churn/") for i in nodes) and any(
        i.startswith("promotion:") for i in nodes
    )
    assert "code:" + "c0ffee" * 6 + "abcd" not in nodes  # upstream of the run, not downstream of the data
    assert page.get_attribute("#lineage-graph", "data-highlight") == "down"
    assert page.evaluate(
        "window.lineageCy.getElementById('code:' + 'c0ffee'.repeat(6) + 'abcd').hasClass('faded')"
    )

    page.click("#lineage-upstream")
    assert (
        page.evaluate("window.lineageCy.elements('node.path').length") == 1
    )  # a dataset has nothing upstream

    page.uncheck("#lineage-filters input[value='promotion']")
    assert page.evaluate("window.lineageCy.nodes('.promotion').every(n => !n.visible())")
    with page.expect_download() as download:
        page.click("#lineage-png")
    assert download.value.suggested_filename == "lineage-churn-v1.png"
    with page.expect_download() as download:
        page.click("#lineage-json")
    assert download.value.suggested_filename == "lineage-churn-v1.json"
    with page.expect_download() as download:
        page.click("#lineage-svg")
    assert download.value.suggested_filename == "lineage-churn-v1.svg"
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("<svg xmlns=")

    page.wait_for_timeout(300)
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []


def test_the_dataset_and_model_graphs_draw_every_version_and_link_to_them(open_page, user):
    seed(versions=3)
    for path in ("/lineage/dataset/?digest=d0", "/models/churn/lineage/"):
        page = open_page(user, path)
        page.wait_for_selector("#lineage-graph[data-ready='1']")
        assert page.evaluate("window.lineageCy.nodes('.model_version').length") == 3
        click_node(page, "model_version:churn/2")
        page.wait_for_selector("#lineage-side-links a")
        assert page.get_attribute("#lineage-side-links a", "href") == "/models/churn/versions/2/"
        page.click("#lineage-upstream")
        upstream = set(page.evaluate("window.lineageCy.nodes('.path').map(n => n.id())"))
        assert {"model_version:churn/2", "run:runchurn2", "dataset:d0"} <= upstream
        assert "model_version:churn/1" not in upstream
        page.wait_for_timeout(300)
        assert page.evaluate("window.__cspViolations") == []
        assert page.console_errors == []


def test_the_version_page_draws_a_compact_graph_that_opens_the_full_one(open_page, user):
    govern(seed(datasets=1))
    page = open_page(user, "/models/churn/versions/1/")
    page.wait_for_selector("#lineage-compact svg")  # fetched once the page is shown
    box = page.locator("#lineage-compact svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 40  # drawn, and fitted to the page
    assert page.locator("#lineage-compact svg text", has_text="churn v1").count() == 1
    page.click("#lineage-compact")
    page.wait_for_selector("#lineage-graph[data-ready='1']")
    assert page.url.endswith("/lineage/churn/1/")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []
