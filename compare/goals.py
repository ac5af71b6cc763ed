"""A metric's direction (is lower better?): the one source for every chart, table and page that ranks
versions by a metric — the comparison, its API, and the promotion page's candidate-against-holder chart.

A model's `primary_metric` / `primary_metric_goal` tags decide for its primary metric; every other metric
follows the names in settings.LOWER_IS_BETTER_METRICS (losses and errors), else higher is better.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from mirror.models import RegisteredModel


def lower_is_better(metric: str, models: Iterable[RegisteredModel] = ()) -> bool:
    """True when lower values of `metric` are better for these models."""
    for model in models:
        if model.primary_metric == metric:
            return model.primary_metric_goal == "minimize"
    # A listed name matches whole metric names and their prefixed/suffixed forms ("loss" matches
    # "train_loss" and "val_loss", "rmse" matches "test_rmse"), not arbitrary substrings.
    name = metric.lower()
    for listed in (n.lower() for n in settings.LOWER_IS_BETTER_METRICS):
        if (
            name == listed
            or name.endswith(("_" + listed, "." + listed))
            or name.startswith((listed + "_", listed + "."))
        ):
            return True
    return False


def metric_goals(metrics: Iterable[str], models: Iterable[RegisteredModel] = ()) -> dict[str, str]:
    """{metric: "minimize" | "maximize"} for each of `metrics`."""
    models = list(models)
    return {k: ("minimize" if lower_is_better(k, models) else "maximize") for k in metrics}


def lower_is_better_metrics(metrics: Iterable[str], models: Iterable[RegisteredModel] = ()) -> list[str]:
    """The names among `metrics` where lower is better (what the chart builders take)."""
    return [k for k, goal in metric_goals(metrics, models).items() if goal == "minimize"]
