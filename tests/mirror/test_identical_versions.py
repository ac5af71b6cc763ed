"""Content hashes: stable across runs and file orders, streamed in constant memory; versions of one model with
the same hash flagged as identical in the API, on the version page and in the model page's versions table,
with a bounded number of queries."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mirror.mlflow_data import hash_artifact_tree
from mirror.models import ModelVersion
from tests.factories import ModelVersionFactory, RegisteredModelFactory

HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


# --- the content hash ---------------------------------------------------------------------------------------
def _write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


FILES = {"MLmodel": b"flavors: {}\n", "model.pkl": b"\x80\x04pickle", "sub/conda.yaml": b"name: x\n"}


def test_the_content_hash_is_the_same_across_runs_and_file_orders(tmp_path):
    forward = _write_tree(tmp_path / "a", FILES)
    backward = _write_tree(tmp_path / "b", dict(reversed(list(FILES.items()))))
    first = hash_artifact_tree(forward)
    assert first.startswith("sha256:") and len(first) == 7 + 64
    assert hash_artifact_tree(forward) == first == hash_artifact_tree(backward)


@pytest.mark.parametrize(
    "change",
    [
        {"model.pkl": b"\x80\x04pickle!"},  # one byte more
        {"model2.pkl": b"\x80\x04pickle"},  # a file renamed
        {"sub/extra.txt": b""},  # an empty file added
    ],
    ids=["content", "rename", "added-file"],
)
def test_any_change_of_content_or_layout_changes_the_hash(tmp_path, change):
    files = dict(FILES)
    if "model2.pkl" in change:
        files.pop("model.pkl")
    changed = _write_tree(tmp_path / "changed", {**files, **change})
    assert hash_artifact_tree(changed) != hash_artifact_tree(_write_tree(tmp_path / "orig", FILES))


def test_hashing_streams_a_large_file_in_constant_memory(tmp_path):
    big = tmp_path / "tree" / "weights.bin"
    big.parent.mkdir()
    with big.open("wb") as handle:
        for _ in range(48):
            handle.write(os.urandom(1 << 20))  # 48 MB
    tracemalloc.start()
    try:
        hash_artifact_tree(big.parent)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * (1 << 20), f"peak {peak / (1 << 20):.1f} MB while hashing 48 MB"


# --- identical versions -------------------------------------------------------------------------------------
@pytest.fixture
def versions(db):
    """churn v1..v4: v1, v3 and v4 share a hash (v4 deleted in MLflow), v2 differs; another model shares it too."""
    churn = RegisteredModelFactory(name="churn")
    made = {
        n: ModelVersionFactory(model=churn, version=n, content_hash=h)
        for n, h in ((1, HASH_A), (2, HASH_B), (3, HASH_A), (4, HASH_A), (5, None))
    }
    ModelVersion.objects.filter(pk=made[4].pk).update(deleted_at=timezone.now())
    ModelVersionFactory(model=RegisteredModelFactory(name="other"), version=1, content_hash=HASH_A)
    return made


@pytest.mark.django_db
@pytest.mark.parametrize(("version", "expected"), [(1, [3]), (3, [1]), (2, []), (5, [])])
def test_the_version_api_names_the_live_versions_of_the_model_with_the_same_hash(
    api, versions, version, expected
):
    body = api.get(f"/api/v1/models/churn/versions/{version}/").json()
    assert body["identical_to"] == expected
    assert body["semver"] is None


@pytest.mark.django_db
def test_the_versions_list_carries_identical_to_in_one_extra_query(
    api, versions, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/models/churn/versions/").json()
    assert {v["version"]: v["identical_to"] for v in body["results"]} == {5: [], 3: [1], 2: [], 1: [3]}


@pytest.mark.django_db
def test_the_version_page_links_the_identical_version(client_user, versions):
    html = client_user.get("/models/churn/versions/3/").content.decode()
    assert '<a href="/models/churn/versions/1/">identical to v1</a>' in html
    assert "identical to v4" not in html  # deleted in MLflow
    assert "identical to" not in client_user.get("/models/churn/versions/2/").content.decode()


@pytest.mark.django_db
def test_the_model_page_flags_identical_versions_with_queries_that_do_not_grow(
    client_user, versions, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as few:
        html = client_user.get("/models/churn/").content.decode()
    assert (
        'href="/models/churn/versions/3/" title="Same content hash: byte-identical artifacts">identical to v3'
        in html
    )
    assert (
        'href="/models/churn/versions/1/" title="Same content hash: byte-identical artifacts">identical to v1'
        in html
    )
    for n in range(6, 40):
        ModelVersionFactory(model=versions[1].model, version=n, content_hash=HASH_A if n % 2 else HASH_B)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client_user.get("/models/churn/").status_code == 200
