"""A metric's direction has one source: the comparison and the promotion page rank a loss the same way."""

from __future__ import annotations

import json
import re

import pytest

from compare import goals, refs, selectors
from mirror.models import RegisteredModel, Run
from tests.support.governance import request_and_check, seed_model

pytestmark = pytest.mark.django_db


def _model(**tags) -> RegisteredModel:
    return RegisteredModel(name="m", tags=tags)


@pytest.mark.parametrize(
    "metric, tags, lower",
    [
        ("val_loss", {}, True),
        ("val_loss", {"primary_metric": "acc", "primary_metric_goal": "maximize"}, True),
        ("test_rmse", {}, True),
        ("accuracy", {}, False),
        ("lossless_ratio", {}, False),
        # The model's own goal decides for its primary metric, whatever its name says.
        ("latency", {"primary_metric": "latency", "primary_metric_goal": "minimize"}, True),
        ("val_loss", {"primary_metric": "val_loss", "primary_metric_goal": "maximize"}, False),
    ],
)
def test_direction_comes_from_the_model_goal_then_the_settings_names(metric, tags, lower):
    assert goals.lower_is_better(metric, [_model(**tags)]) is lower
    assert goals.metric_goals([metric], [_model(**tags)]) == {metric: "minimize" if lower else "maximize"}


def _chart(html: str) -> dict:
    match = re.search(r'<script id="promotion-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the promotion page has no chart"
    return json.loads(match.group(1))


def _normalised(figure: dict) -> dict[str, dict[str, float]]:
    """{column: {metric: relative value}} of a normalised bar chart."""
    return {trace["name"]: dict(zip(trace["x"], trace["y"], strict=True)) for trace in figure["data"]}


def test_promotion_chart_draws_the_lower_loss_as_best(policy_file, people, fake_mlflow, client):
    seed_model("churn", (1, 2), aliases={"staging": 1})
    Run.objects.filter(versions__version=1).update(metrics={"acc": 0.80, "val_loss": 0.35})
    Run.objects.filter(versions__version=2).update(metrics={"acc": 0.82, "val_loss": 0.10})
    p = request_and_check(people["requester"], model="churn", version=2, target="staging")
    client.force_login(people["reviewer"])

    figure = _chart(client.get(f"/promotions/{p.pk}/").content.decode())

    bars = _normalised(figure)
    candidate, holder = "v2 (candidate)", "v1 (holds staging)"
    assert bars[candidate]["val_loss"] == 1.0
    assert bars[holder]["val_loss"] == pytest.approx(0.10 / 0.35)
    assert bars[candidate]["acc"] == 1.0


def test_val_loss_ranks_the_same_on_the_comparison_and_the_promotion_page(
    policy_file, people, fake_mlflow, client
):
    seed_model("churn", (1, 2), aliases={"staging": 1})
    Run.objects.filter(versions__version=1).update(metrics={"acc": 0.80, "val_loss": 0.35})
    Run.objects.filter(versions__version=2).update(metrics={"acc": 0.82, "val_loss": 0.10})
    p = request_and_check(people["requester"], model="churn", version=2, target="staging")
    client.force_login(people["reviewer"])

    promotion = _normalised(_chart(client.get(f"/promotions/{p.pk}/").content.decode()))
    compare = selectors.comparison(refs.resolve([refs.Ref("churn", 2), refs.Ref("churn", 1)]))
    normalised = _normalised(compare["charts"]["metrics_normalised"])

    assert compare["metric_goals"]["val_loss"] == "minimize"
    assert compare["best"]["val_loss"] == ["churn:2"]
    for metric in ("val_loss", "acc"):
        assert promotion["v2 (candidate)"][metric] == normalised["churn:2"][metric]
        assert promotion["v1 (holds staging)"][metric] == normalised["churn:1"][metric]
