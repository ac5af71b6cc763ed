"""The demo seed puts real, fully described models into a real MLflow server, once."""

from __future__ import annotations

import pytest

from demo.seed import seed_demo

pytestmark = pytest.mark.mlflow

MODELS = {
    "credit-default-classifier": "test_f1",
    "diabetes-progression-regressor": "rmse",
    "wine-cultivar-classifier": "test_accuracy",
}


@pytest.fixture(scope="module")
def seeded(mlflow_server, seeded_mlflow):
    """The session's MLflow server, seeded once for the whole suite (seeding costs ~20 s)."""
    return mlflow_server, seeded_mlflow


@pytest.fixture(scope="module")
def client(seeded):
    from mlflow import MlflowClient

    server, _ = seeded
    return MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)


def versions_of(client, name):
    return client.search_model_versions(f"name = '{name}'")


def test_seed_reports_what_it_created(seeded):
    _, summary = seeded
    assert summary["created"] is True
    assert set(summary["models"]) == set(MODELS)
    assert all(len(m["created"]) >= 3 for m in summary["models"].values())


def test_each_demo_model_has_at_least_three_versions_and_a_primary_metric(client):
    for name, metric in MODELS.items():
        model = client.get_registered_model(name)
        assert model.tags["primary_metric"] == metric
        assert model.tags["primary_metric_goal"] in {"maximize", "minimize"}
        assert model.description
        assert len(versions_of(client, name)) >= 3


def test_classifier_runs_have_test_metrics_histories_datasets_and_code_tags(client):
    versions = versions_of(client, "credit-default-classifier")
    authors = set()
    for version in versions:
        assert version.source and version.run_id
        assert version.description
        run = client.get_run(version.run_id)
        assert {"test_f1", "test_accuracy", "test_roc_auc"} <= set(run.data.metrics)
        assert len(client.get_metric_history(run.info.run_id, "val_loss")) > 1
        assert run.data.params
        contexts = set()
        for dataset_input in run.inputs.dataset_inputs:
            assert dataset_input.dataset.digest
            contexts |= {tag.value for tag in dataset_input.tags if tag.key == "mlflow.data.context"}
        assert {"training", "evaluation"} <= contexts
        commit = run.data.tags["mlflow.source.git.commit"]
        assert len(commit) == 40 and int(commit, 16) >= 0
        assert run.data.tags["mlflow.source.name"]
        authors.add(run.data.tags["mlflow.user"])
    assert authors == {"alice", "bob"}


def test_regressor_and_multiclass_runs_log_their_own_metrics(client):
    expected = {
        "diabetes-progression-regressor": {"rmse", "mae", "r2"},
        "wine-cultivar-classifier": {"test_accuracy", "test_f1_macro", "test_log_loss"},
    }
    for name, metrics in expected.items():
        for version in versions_of(client, name):
            assert metrics <= set(client.get_run(version.run_id).data.metrics)


def test_some_versions_carry_data_validated_and_some_do_not(client):
    tags = [v.tags for name in MODELS for v in versions_of(client, name)]
    validated = [t for t in tags if t.get("data_validated") == "true"]
    assert 0 < len(validated) < len(tags)
    assert all("data.rows" in t for t in tags)


def test_aliases_are_set(client):
    aliases = client.get_registered_model("credit-default-classifier").aliases
    assert set(aliases) == {"production", "staging"}
    assert int(aliases["production"]) < int(aliases["staging"])
    assert client.get_registered_model("diabetes-progression-regressor").aliases


def test_registered_models_have_a_signature(seeded, client):
    import mlflow

    server, _ = seeded
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(server.uri)
    try:
        for name in MODELS:
            version = versions_of(client, name)[0].version
            info = mlflow.models.get_model_info(f"models:/{name}/{version}")
            assert info.signature is not None
            assert info.signature.inputs.input_names()
    finally:
        mlflow.set_tracking_uri(previous)


def test_seeding_again_creates_nothing(seeded, client):
    server, _ = seeded
    before = {name: len(versions_of(client, name)) for name in MODELS}
    summary = seed_demo(server.uri, log=lambda line: None)
    assert summary["created"] is False
    assert {name: len(versions_of(client, name)) for name in MODELS} == before


# --- the README's "Try it" story ---------------------------------------------------------------------
def _by_key(client, name):
    return {v.tags["demo.key"]: v for v in versions_of(client, name)}


def test_a_better_validated_candidate_waits_while_the_baseline_holds_production(client):
    from demo.catalog import TRY_IT_CANDIDATE, TRY_IT_HOLDER, TRY_IT_MODEL

    versions = _by_key(client, TRY_IT_MODEL)
    holder, candidate = versions[TRY_IT_HOLDER], versions[TRY_IT_CANDIDATE]
    # Another test may be mid-story on the shared server; the seed itself puts the holder there.
    assert client.get_registered_model(TRY_IT_MODEL).aliases.get("production") in {
        holder.version,
        candidate.version,
    }
    assert candidate.tags.get("data_validated") == "true"
    f1 = {v.version: client.get_run(v.run_id).data.metrics["test_f1"] for v in (holder, candidate)}
    assert f1[candidate.version] > f1[holder.version]
    assert client.get_run(candidate.run_id).data.tags["mlflow.user"] == "bob"


def test_fill_sections_replaces_only_the_named_sections():
    from cards.completeness import score_card
    from cards.generation import draft_card
    from cards.sections import HUMAN_SECTIONS
    from demo.cards import fill_sections

    facts = {
        "model": {"name": "m", "description": "", "tags": {}},
        "version": {"version": 1, "tags": {}, "flavors": ["sklearn"]},
        "run": None,
    }
    draft = draft_card(facts)
    filled = fill_sections(draft, {"intended_use": "Scoring loans.", "factors": None})
    assert "Scoring loans." in filled and HUMAN_SECTIONS["intended_use"][1] not in filled
    assert HUMAN_SECTIONS["factors"][1] in filled and filled.startswith("---\n")
    assert score_card(filled)[1] == [m for m in score_card(draft)[1] if m != "intended_use"]


@pytest.mark.django_db
def test_demo_cards_leave_exactly_one_section_for_the_newcomer_and_are_written_once(seeded, settings):
    from audit.models import AuditEvent
    from cards.selectors import latest_revision
    from demo.cards import COMMENT, LEFT_FOR_THE_STORY, seed_demo_cards
    from demo.catalog import TRY_IT_CANDIDATE, TRY_IT_HOLDER, TRY_IT_MODEL
    from mirror.models import ModelVersion, SyncRun
    from mirror.sync import execute_sync

    server, _ = seeded
    settings.MLFLOW_TRACKING_URI = server.uri
    assert execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk).status == "succeeded"
    written = seed_demo_cards(log=lambda line: None)
    assert len(written) == 2
    versions = {mv.tags["demo.key"]: mv for mv in ModelVersion.objects.filter(model__name=TRY_IT_MODEL)}
    holder = latest_revision(versions[TRY_IT_HOLDER])
    candidate = latest_revision(versions[TRY_IT_CANDIDATE])
    assert (holder.score, holder.missing) == (1.0, [])
    assert candidate.missing == [LEFT_FOR_THE_STORY] and 0.8 < candidate.score < 1.0
    assert (candidate.author, candidate.comment) == (
        "bob",
        COMMENT,
    )  # the version's author, said to be the seed
    assert AuditEvent.objects.filter(
        action="card.revised", actor="bob", object_id=f"{TRY_IT_MODEL}/{versions[TRY_IT_CANDIDATE].version}"
    ).exists()
    assert seed_demo_cards(log=lambda line: None) == []  # idempotent: a card someone wrote is left alone


@pytest.mark.django_db
def test_demo_cards_are_written_on_top_of_a_refresh_that_lands_meanwhile(seeded, settings, monkeypatch):
    from cards import services
    from cards.selectors import latest_revision
    from demo import cards as demo
    from demo.catalog import TRY_IT_CANDIDATE
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    server, _ = seeded
    settings.MLFLOW_TRACKING_URI = server.uri
    assert execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk).status == "succeeded"
    real_fill, raced = demo.fill_sections, []

    def fill_while_the_worker_refreshes(markdown, texts):
        # On the candidate's card, the worker's after-artifacts refresh saves a `system` revision in between.
        if not raced and texts.get(demo.LEFT_FOR_THE_STORY, "") is None:
            mv = demo._demo_version(TRY_IT_CANDIDATE)
            current = latest_revision(mv)
            raced.append(services.save_card(mv=mv, markdown=current.markdown + "\n", author=None,
                                            base_revision=current.revision))  # fmt: skip
        return real_fill(markdown, texts)

    monkeypatch.setattr(demo, "fill_sections", fill_while_the_worker_refreshes)
    written = dict(((m, v), r) for m, v, r in demo.seed_demo_cards(log=lambda line: None))
    candidate = demo._demo_version(TRY_IT_CANDIDATE)
    rev = latest_revision(candidate)
    assert written[(candidate.model.name, candidate.version)] == rev.revision > raced[0].revision
    assert rev.missing == [demo.LEFT_FOR_THE_STORY]
    # A later `system` refresh on top of the demo's revision does not make the seed write again.
    services.save_card(mv=candidate, markdown=rev.markdown + "\n", author=None, base_revision=rev.revision)
    assert demo.seed_demo_cards(log=lambda line: None) == []


@pytest.mark.django_db
def test_a_demo_version_graph_shows_data_run_logged_model_version_and_targets(
    seeded, settings, policy_file, api
):
    # Imported here like the card tests above: the mirror's models need Django set up (pytest-django does it).
    from mirror.models import LoggedModel, ModelVersion, RegisteredModel, SyncRun
    from mirror.sync import execute_sync

    server, _ = seeded
    settings.MLFLOW_TRACKING_URI = server.uri
    assert execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk).status == "succeeded"
    holder = RegisteredModel.objects.get(name="credit-default-classifier").aliases["production"]
    mv = ModelVersion.objects.get(model__name="credit-default-classifier", version=holder)
    assert mv.logged_model_id and LoggedModel.objects.filter(model_id=mv.logged_model_id).exists()
    body = api.get(f"/api/v1/lineage/credit-default-classifier/{mv.version}/").json()
    nodes = {n["id"]: n for n in body["nodes"]}
    assert {"dataset", "run", "code", "logged_model", "model_version", "target"} <= {
        n["type"] for n in nodes.values()
    }
    edges = {(e["source"], e["target"], e["type"]) for e in body["edges"]}
    run, logged = f"run:{mv.run_id}", f"logged_model:{mv.logged_model_id}"
    assert {(run, logged, "logged_as"), (logged, f"model_version:credit-default-classifier/{mv.version}",
                                         "registered_as")} <= edges  # fmt: skip
    trained = [nodes[t] for s, t, kind in edges if s == run and kind == "trained_on"]
    assert trained and all(len(n["attrs"]["digest"]) >= 8 and not n["attrs"]["malformed"] for n in trained)
    tested = [t for s, t, kind in edges if s == logged and kind == "evaluated_on"]
    assert tested and nodes[tested[0]]["attrs"]["name"].endswith("-test")  # metrics linked to the test split
