"""Comparison reads: parsing the selection, resolving it, and the side-by-side data with bounded queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.errors import InvalidInput
from compare import history, refs, selectors, tables
from compare import holders as compare_holders
from mirror.models import ModelVersion
from tests.factories import MetricHistoryFactory
from tests.support.compare import seed

pytestmark = pytest.mark.django_db


class Params(dict):
    """A QueryDict stand-in: repeated keys as lists."""

    def getlist(self, key):
        value = self.get(key)
        return [] if value is None else (value if isinstance(value, list) else [value])


# --- parsing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, expected",
    [
        ({"model": "churn", "versions": ["1", "2"]}, ["churn:1", "churn:2"]),
        ({"model": "churn", "versions": "3,1,2"}, ["churn:3", "churn:1", "churn:2"]),
        ({"refs": "churn:1,fraud model:4"}, ["churn:1", "fraud model:4"]),
        ({"refs": "ns:model:2"}, ["ns:model:2"]),
        ({"model": "churn", "versions": "1", "refs": "fraud:2"}, ["churn:1", "fraud:2"]),
    ],
)
def test_selection_accepts_repeated_comma_separated_versions_and_refs(params, expected):
    assert [r.label for r in refs.parse_selection(Params(params))] == expected


@pytest.mark.parametrize(
    "params, named",
    [
        ({"model": "churn", "versions": "1,abc"}, "'abc'"),
        ({"model": "churn", "versions": "0"}, "'0'"),
        ({"versions": "1,2"}, "without a model"),
        ({"refs": "churn"}, "'churn'"),
        ({"refs": ":3"}, "':3'"),
        ({"refs": "churn:x"}, "'x'"),
        ({"model": "churn", "versions": "1,2,1"}, "churn:1"),
        ({"model": "churn", "versions": ",".join(str(i) for i in range(1, 22))}, "21"),
    ],
)
def test_bad_selection_is_rejected_naming_the_value(params, named):
    with pytest.raises(InvalidInput) as err:
        refs.parse_selection(Params(params))
    assert named in str(err.value)


def test_unknown_model_and_unknown_version_are_named():
    seed(n=2)
    with pytest.raises(InvalidInput, match="Unknown model 'nope'"):
        refs.resolve([refs.Ref("nope", 1)])
    with pytest.raises(InvalidInput, match="'churn' has no version 7"):
        refs.resolve([refs.Ref("churn", 1), refs.Ref("churn", 7)])


def test_resolve_keeps_the_order_asked_for():
    seed(n=3)
    versions = refs.resolve([refs.Ref("churn", 3), refs.Ref("churn", 1)])
    assert [mv.version for mv in versions] == [3, 1]


# --- the comparison --------------------------------------------------------------------------------
def test_metrics_best_and_deltas_respect_each_metrics_goal():
    seed(
        n=3,
        metrics=lambda v: {
            "acc": [0.8, 0.9, 0.85][v - 1],
            "rmse": [2.0, 1.0, 3.0][v - 1],
            "brier": [0.3, 0.1, 0.2][v - 1],
        },
        model_tags={"primary_metric": "brier", "primary_metric_goal": "minimize"},
    )
    data = selectors.comparison(refs.resolve([refs.Ref("churn", v) for v in (1, 2, 3)]))
    assert list(data["metrics"])[0] == "brier"  # the primary metric first
    assert data["metrics"]["acc"] == {"churn:1": 0.8, "churn:2": 0.9, "churn:3": 0.85}
    assert data["metric_goals"] == {"brier": "minimize", "acc": "maximize", "rmse": "minimize"}
    assert data["best"] == {"brier": ["churn:2"], "acc": ["churn:2"], "rmse": ["churn:2"]}
    assert data["deltas"]["rmse"] == {"churn:1": 0.0, "churn:2": -1.0, "churn:3": 1.0}


def test_a_missing_metric_is_null_not_zero_and_has_no_delta():
    seed(n=2, metrics=lambda v: {"acc": 0.9} if v == 1 else {"acc": 0.8, "f1": 0.7})
    data = selectors.comparison(refs.resolve([refs.Ref("churn", 1), refs.Ref("churn", 2)]))
    assert data["metrics"]["f1"] == {"churn:1": None, "churn:2": 0.7}
    assert data["deltas"]["f1"] == {"churn:1": None, "churn:2": None}
    assert data["best"]["f1"] == ["churn:2"]
    bars = data["charts"]["metrics"]
    assert bars["data"][0]["y"][bars["data"][0]["x"].index("f1")] is None


def test_differing_params_tags_and_datasets_are_listed():
    seed(
        n=2,
        params=lambda v: {"C": "1.0", "solver": "lbfgs" if v == 1 else "saga"},
        datasets=lambda v: [
            {"name": "train", "digest": "aaa" if v == 1 else "bbb", "context": "training"},
            {"name": "eval", "digest": "ccc", "context": "eval"},
        ],
    )
    ModelVersion.objects.filter(version=2).update(tags={"team": "risk", "note": "retrained"})
    ModelVersion.objects.filter(version=1).update(tags={"team": "risk"})
    data = selectors.comparison(refs.resolve([refs.Ref("churn", 1), refs.Ref("churn", 2)]))
    assert data["differing_params"] == ["solver"]
    assert data["differing_tags"] == ["note"]
    assert data["tags"]["note"] == {"churn:1": None, "churn:2": "retrained"}
    assert data["datasets"]["train (training)"] == {"churn:1": "aaa", "churn:2": "bbb"}
    assert data["differing_datasets"] == ["train (training)"]


def test_signature_changes_and_identical_artifacts_are_flagged():
    seed(n=3)
    base = {
        "inputs": [{"name": "age", "type": "long"}, {"name": "income", "type": "double"}],
        "outputs": [{"type": "long"}],
    }
    other = {
        "inputs": [{"name": "age", "type": "double"}, {"name": "zip", "type": "string"}],
        "outputs": [{"type": "long"}],
    }
    ModelVersion.objects.filter(version=1).update(signature=base, content_hash="sha256:x")
    ModelVersion.objects.filter(version=2).update(signature=other, content_hash="sha256:x")
    ModelVersion.objects.filter(version=3).update(content_hash="sha256:y")
    data = selectors.comparison(refs.resolve([refs.Ref("churn", v) for v in (1, 2, 3)]))
    diff = data["signatures"]["churn:2"]["inputs"]
    assert diff == {
        "added": ["zip"],
        "removed": ["income"],
        "changed": [{"name": "age", "from": "long", "to": "double"}],
    }
    assert data["signatures"]["churn:3"]["present"] is False
    assert data["identical_artifacts"] == [["churn:1", "churn:2"]]
    assert data["versions"][0]["identical_to"] == ["churn:2"]


def test_cross_model_comparison_labels_columns_by_model_and_version():
    seed("churn", n=1)
    seed("fraud", n=1, metrics={"acc": 0.99})
    data = selectors.comparison(refs.resolve([refs.Ref("churn", 1), refs.Ref("fraud", 1)]))
    assert data["metrics"]["acc"] == {"churn:1": 0.51, "fraud:1": 0.99}


def _twenty_by_hundred():
    return seed(
        n=20,
        metrics=lambda v: {f"m{i:03d}": v * 0.01 + i for i in range(100)},
        params=lambda v: {f"p{i:02d}": str(v % (i + 1)) for i in range(30)},
        datasets=lambda v: [{"name": "train", "digest": f"d{v % 3}", "context": "training"}],
    )


def test_comparison_of_20_versions_by_100_metrics_runs_a_constant_number_of_queries(
    django_assert_max_num_queries,
):
    _twenty_by_hundred()
    wanted = [refs.Ref("churn", v) for v in range(1, 21)]
    # resolve: 1; card completeness: 1 inside a savepoint (2)
    with django_assert_max_num_queries(4):
        data = selectors.comparison(refs.resolve(wanted))
    assert len(data["metrics"]) == 100 and len(data["versions"]) == 20
    with CaptureQueriesContext(connection) as two:
        selectors.comparison(refs.resolve(wanted[:2]))
    with CaptureQueriesContext(connection) as twenty:
        selectors.comparison(refs.resolve(wanted))
    assert len(two) == len(twenty)


def test_trend_reads_every_version_in_one_query(django_assert_num_queries):
    seed(n=30, aliases={"champion": 12})
    model = ModelVersion.objects.first().model
    with django_assert_num_queries(1):
        points = history.trend_points(model, "acc")
    assert len(points) == 30
    assert points[11] == {"version": 12, "value": 0.62, "aliases": ["champion"]}


def test_trend_of_a_metric_no_version_has_names_it():
    seed(n=2)
    model = ModelVersion.objects.first().model
    with pytest.raises(InvalidInput, match="'nope'"):
        history.trend_points(model, "nope")


def test_history_series_reads_cached_histories_in_bounded_queries(django_assert_max_num_queries):
    versions = seed(n=5)
    for mv in versions:
        MetricHistoryFactory(run=mv.source_run, steps=50, value=lambda s: s / 10)
    versions = refs.resolve([refs.Ref("churn", v) for v in range(1, 6)])

    def fetch(**kwargs):
        raise AssertionError("cached histories must not be fetched again")

    with django_assert_max_num_queries(2):
        series, skipped = history.history_series(versions, "acc", fetch)
    assert len(series) == 5 and skipped == {}
    assert series["churn:3"][49]["value"] == 4.9
    with django_assert_max_num_queries(1):  # the downsampled series come from Django's cache now
        again, _ = history.history_series(versions, "acc", fetch)
    assert again == series


def test_target_holders_fall_back_to_the_models_aliases():
    versions = seed(n=3, aliases={"champion": 1, "challenger": 3})
    holders = compare_holders.target_holders(versions[1], {})
    assert {(h["name"], h["version"]) for h in holders} >= {("champion", 1), ("challenger", 3)}
    assert all(h["version"] != 2 for h in holders)


def test_csv_rows_have_one_column_per_version_and_empty_cells_for_missing_values():
    seed(n=2, metrics=lambda v: {"acc": 0.9} if v == 1 else {"acc": 0.8, "f1": 0.7})
    rows = tables.csv_rows(selectors.comparison(refs.resolve([refs.Ref("churn", 1), refs.Ref("churn", 2)])))
    assert rows[0] == ["section", "key", "churn:1", "churn:2"]
    assert ["metric", "f1", "", "0.7"] in rows


def test_target_holders_follow_the_policys_alias_and_stage_targets(monkeypatch):
    from approvals import policy as policy_module
    from approvals.policy_parse import Target

    versions = seed(n=4, aliases={"prod": 2})
    ModelVersion.objects.filter(version=3).update(stage="Staging")

    def target(name, alias=None, stage=None):
        return Target(
            name=name,
            mlflow_alias=alias,
            mlflow_stage=stage,
            approvals_required=1,
            approver_groups=("approvers",),
            gates=(),
            rollback_approvals=1,
        )

    class FakePolicy:
        def targets_for(self, model_name):
            return {
                "production": target("production", alias="prod"),
                "staging": target("staging", stage="Staging"),
            }

    monkeypatch.setattr(policy_module, "get_policy", lambda: FakePolicy())
    # Governance registers the policy as the source of the targets; the comparison takes them as input.
    holders = compare_holders.target_holders(versions[3], compare_holders.targets_for("churn"))
    assert [(h["name"], h["version"]) for h in holders] == [("production", 2), ("staging", 3)]
    assert holders[1]["via"] == "stage Staging"


@pytest.mark.parametrize(
    "metric,lower",
    [
        ("rmse", True),
        ("test_rmse", True),
        ("train_loss", True),
        ("val_loss", True),
        ("loss", True),
        ("mae.val", True),
        ("val.mae", True),
        ("test_f1", False),
        ("glossary_score", False),
        ("r2", False),
    ],
)
def test_loss_and_error_metrics_are_lower_is_better_by_name(metric, lower):
    from compare.goals import lower_is_better

    assert lower_is_better(metric) is lower
