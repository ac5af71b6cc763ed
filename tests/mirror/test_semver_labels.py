"""Semantic version labels computed when versions' artifacts are read (mirror.versioning): in version order,
stored once, queued as the MLflow tag `semver` through the outbox, shown in the API, on the pages and in the
card."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cards import generation
from cards.selectors import version_facts
from mirror import gateway, hooks, services, versioning
from mirror.mlflow_data import VersionArtifacts
from mirror.models import MlflowWrite, ModelVersion
from tests.factories import ModelVersionFactory, RegisteredModelFactory, RunFactory

pytestmark = pytest.mark.django_db

SIGNATURE = {"inputs": [{"name": "x", "type": "double"}], "outputs": [{"type": "long"}]}


def _hash(n: int) -> str:
    return "sha256:" + f"{n:08x}" + "0" * 56


@pytest.fixture
def artifacts(monkeypatch):
    """MLflow's artifacts per version number: {version: VersionArtifacts}; reading them is faked."""
    known: dict[int, VersionArtifacts] = {}

    def read(name, version):
        return known[version]

    monkeypatch.setattr(gateway, "read_version_artifacts", read)
    return known


def _version(n: int, *, params=None, tags=None, artifacts, signature=SIGNATURE, flavors=("sklearn",)):
    """Version n of churn in the mirror, artifacts not read yet; what MLflow will give when they are."""
    run = RunFactory(params=params if params is not None else {"C": "1.0"}, tags=tags or {})
    mv = ModelVersionFactory(model=RegisteredModelFactory(name="churn"), version=n, source_run=run)
    artifacts[n] = VersionArtifacts(
        content_hash=_hash(n), signature=signature, flavors=list(flavors), input_example=None
    )
    return mv


def _read(mv):
    return services.read_version_artifacts(model_version_id=mv.pk)


def _labels():
    return dict(ModelVersion.objects.filter(model__name="churn").values_list("version", "semver"))


def test_reading_artifacts_labels_each_version_against_the_previous_and_queues_the_mlflow_tag(artifacts):
    v1 = _version(1, artifacts=artifacts)
    v2 = _version(2, params={"C": "1.0"}, artifacts=artifacts)
    v3 = _version(3, params={"C": "0.5"}, artifacts=artifacts)
    v4 = _version(4, params={"C": "0.5"}, artifacts=artifacts, flavors=("pytorch",))
    for mv in (v1, v2, v3, v4):
        _read(mv)
    assert _labels() == {1: "1.0.0+00000001", 2: "1.0.1+00000002", 3: "1.1.0+00000003", 4: "2.0.0+00000004"}
    writes = MlflowWrite.objects.order_by("version")
    assert [(w.model_name, w.version, w.key, w.value) for w in writes] == [
        ("churn", n, "semver", label) for n, label in sorted(_labels().items())
    ]


def test_the_model_class_comes_from_the_source_runs_tags_or_params(artifacts):
    gbc = {"estimator_class": "sklearn.ensemble.GradientBoostingClassifier"}
    v1 = _version(1, params={"estimator": "random_forest", "n": "3"}, artifacts=artifacts)
    v2 = _version(2, params={"estimator": "gradient_boosting", "n": "3"}, artifacts=artifacts)
    v3 = _version(3, params={"n": "4"}, tags=gbc, artifacts=artifacts)
    v4 = _version(4, params={"n": "5"}, tags=gbc, artifacts=artifacts)
    for mv in (v1, v2, v3, v4):
        _read(mv)
    facts = [versioning.facts(ModelVersion.objects.get(pk=mv.pk)) for mv in (v1, v3)]
    assert [f.model_class for f in facts] == ["random_forest", gbc["estimator_class"]]
    assert facts[0].params == {"n": "3"}  # the class param is the class, not a hyper-parameter
    # v2: another class (major); v3: the autologging tag names a class the param did not (major);
    # v4: same class, a hyper-parameter changed (minor)
    assert _labels() == {1: "1.0.0+00000001", 2: "2.0.0+00000002", 3: "3.0.0+00000003", 4: "3.1.0+00000004"}


def test_a_version_read_before_its_predecessor_waits_for_it(artifacts, monkeypatch):
    told = []
    monkeypatch.setattr(
        hooks._artifacts_read, "subscribers", [versioning.on_artifacts_read, lambda **kw: told.append(kw)]
    )
    v1, v2 = _version(1, artifacts=artifacts), _version(2, params={"C": "2"}, artifacts=artifacts)
    _read(v2)
    assert _labels() == {1: None, 2: None}
    _read(v1)
    assert _labels() == {1: "1.0.0+00000001", 2: "1.1.0+00000002"}
    # what waits on artifact facts (the card) hears of v2 again now that it has its label
    assert {"version_ids": [v2.pk]} in told


def test_a_version_deleted_before_it_was_read_is_skipped(artifacts):
    v1 = _version(1, artifacts=artifacts)
    v2 = _version(2, artifacts=artifacts)
    v3 = _version(3, params={"C": "9"}, artifacts=artifacts)
    ModelVersion.objects.filter(pk=v2.pk).update(deleted_at=timezone.now())
    _read(v1)
    _read(v3)
    assert _labels() == {1: "1.0.0+00000001", 2: None, 3: "1.1.0+00000003"}
    assert not MlflowWrite.objects.filter(version=2).exists()


def test_a_stored_label_never_changes(artifacts):
    v1, v2 = _version(1, artifacts=artifacts), _version(2, artifacts=artifacts)
    _read(v1)
    _read(v2)
    before = _labels()
    ModelVersion.objects.filter(pk=v1.pk).update(flavors=["pytorch"])  # facts seen differently later
    assert versioning.label_versions([v1.pk, v2.pk]) == []
    assert versioning.backfill() == []
    assert _labels() == before and MlflowWrite.objects.count() == 2


def test_versions_read_before_labels_existed_get_theirs_after_a_sync(artifacts):
    for n in (1, 2):
        _read(_version(n, artifacts=artifacts))
    ModelVersion.objects.update(semver=None)
    MlflowWrite.objects.all().delete()
    hooks.run_after_sync(sync_run_id=0, result=None)
    assert _labels() == {1: "1.0.0+00000001", 2: "1.0.1+00000002"}
    assert MlflowWrite.objects.count() == 2


def test_the_label_shows_in_the_api_the_pages_and_the_card(artifacts, api, client_user):
    v1 = _version(1, artifacts=artifacts)
    _read(v1)
    assert api.get("/api/v1/models/churn/versions/1/").json()["semver"] == "1.0.0+00000001"
    assert api.get("/api/v1/models/churn/versions/").json()["results"][0]["semver"] == "1.0.0+00000001"
    assert "1.0.0+00000001" in client_user.get("/models/churn/versions/1/").content.decode()
    assert "1.0.0+00000001" in client_user.get("/models/churn/").content.decode()
    mv = ModelVersion.objects.select_related("model", "source_run").get(pk=v1.pk)
    details = generation.generated_blocks(version_facts(mv))
    assert "| Semantic version | 1.0.0+00000001 |" in "\n".join(details.values())
