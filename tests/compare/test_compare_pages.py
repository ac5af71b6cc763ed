"""Comparison pages: chooser, side-by-side table, messages for bad input, CSV, version-page buttons."""

import csv
import io
import re

import pytest

from mirror.models import ModelVersion
from tests.support.compare import seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(client, user):
    client.force_login(user)
    return client


def test_compare_without_parameters_shows_a_chooser(browser_client):
    seed(n=2)
    response = browser_client.get("/compare/")
    assert response.status_code == 200
    assert b"Pick a model" in response.content
    response = browser_client.get("/compare/?model=churn")
    assert b'name="versions" value="2"' in response.content


def test_model_page_form_submission_shows_the_table(browser_client):
    seed(n=3, metrics=lambda v: {"acc": [0.8, 0.9, 0.85][v - 1], "rmse": [2.0, 1.0, 3.0][v - 1]})
    response = browser_client.get("/compare/?model=churn&versions=1&versions=2&versions=3")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="compare-table"' in html
    best_cells = re.findall(r'<td class="num best"><span title="[^"]*">([^<]+)', html)
    assert best_cells == ["0.9", "1"]  # acc is higher-better, rmse lower-better: both v2
    assert "Δ +0.1" in html and "Δ -1" in html
    assert 'data-chart="chart-metrics-data"' in html and 'id="chart-metrics-data"' in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html


def test_missing_metric_shows_an_empty_cell_not_zero(browser_client):
    seed(n=2, metrics=lambda v: {"acc": 0.9} if v == 1 else {"acc": 0.8, "f1": 0.7})
    html = browser_client.get("/compare/?model=churn&versions=1,2").content.decode()
    row = html[html.index(">f1 ") :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0] == "" and ">0.7<" in cells[1]


def test_differing_params_are_highlighted_and_only_differences_can_be_shown(browser_client):
    seed(n=2, params=lambda v: {"C": "1.0", "solver": "lbfgs" if v == 1 else "saga"})
    html = browser_client.get("/compare/?model=churn&versions=1,2&only_diff=1").content.decode()
    assert 'class="differs"><th scope="row" class="mono">solver' in html
    assert 'class="same"><th scope="row" class="mono">C' in html
    assert "only-diff" in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("model=churn&versions=1,7", "has no version 7"),
        ("model=ghost&versions=1", "Unknown model &#x27;ghost&#x27;"),
        ("model=churn&versions=1,1", "churn:1 is selected more than once"),
        ("refs=churn", "&#x27;churn&#x27; must be NAME:VERSION"),
        ("model=churn&versions=1,2&y=latency", "no selected version has the metric &#x27;latency&#x27;"),
    ],
)
def test_bad_selection_shows_a_message_naming_the_value(browser_client, query, message):
    seed(n=2)
    response = browser_client.get(f"/compare/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_csv_download_has_the_table(browser_client):
    seed(n=2, metrics=lambda v: {"acc": 0.5 + v / 10})
    response = browser_client.get("/compare/csv?model=churn&versions=1,2")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "key", "churn:1", "churn:2"]
    assert ["metric", "acc", "0.6", "0.7"] in rows


def test_csv_writes_empty_cells_for_missing_values_never_none(browser_client):
    seed(n=2, metrics=lambda v: {"acc": 0.5} if v == 1 else {"loss": 0.2}, params=lambda v: {f"p{v}": "x"})
    response = browser_client.get("/compare/csv?model=churn&versions=1,2")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["version", "stage", "", ""] in rows  # MLflow's stage "None" means no stage
    assert ["metric", "acc", "0.5", ""] in rows and ["metric", "loss", "", "0.2"] in rows
    assert ["param", "p1", "x", ""] in rows
    assert not [row for row in rows if "None" in row], rows


def test_version_page_offers_to_compare_with_the_alias_holder(browser_client):
    seed(n=3, aliases={"champion": 1})
    html = browser_client.get("/models/churn/versions/3/").content.decode()
    assert "Compare with the holder of champion (v1)" in html
    assert "/compare/?model=churn&amp;versions=1&amp;versions=3" in html
    fragment = browser_client.get("/compare/holders/churn/3/").content.decode()
    assert "Compare with the holder of champion (v1)" in fragment


def test_version_page_of_the_holder_offers_no_compare_with_itself(browser_client):
    seed(n=2, aliases={"champion": 1})
    html = browser_client.get("/models/churn/versions/1/").content.decode()
    assert "holder of champion" not in html


def test_identical_artifacts_are_flagged(browser_client):
    seed(n=2)
    ModelVersion.objects.update(content_hash="sha256:same")
    html = browser_client.get("/compare/?model=churn&versions=1,2").content.decode()
    assert "identical to churn:2" in html


def test_anonymous_is_sent_to_login(client):
    response = client.get("/compare/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
