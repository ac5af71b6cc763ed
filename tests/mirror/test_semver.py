"""The semantic version rule (mirror.semver), pure: which change bumps what, table-driven; labels stable."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mirror import semver
from mirror.semver import Facts

H1 = "sha256:" + "1" * 8 + "a" * 56
H2 = "sha256:" + "2" * 8 + "b" * 56

X = {"name": "x", "type": "double", "required": True}
Y = {"name": "y", "type": "long", "required": True}
TENSOR = {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}

BASE = Facts(
    content_hash=H1,
    flavors=("python_function", "sklearn"),
    model_class="sklearn.linear_model.LogisticRegression",
    inputs=[X, Y],
    params={"C": "1.0", "max_iter": "100"},
)

CHANGES = [
    # (id, what changed, expected kind)
    ("identical-bytes", {"content_hash": H1}, "same"),
    ("retrained-same-config", {}, "patch"),
    ("params-unknown-on-one-side", {"params": None}, "patch"),
    ("class-unknown-on-one-side", {"model_class": None}, "patch"),
    ("hyper-parameter-changed", {"params": {"C": "0.5", "max_iter": "100"}}, "minor"),
    ("hyper-parameter-added", {"params": {"C": "1.0", "max_iter": "100", "tol": "1e-4"}}, "minor"),
    ("input-added", {"inputs": [X, Y, {"name": "z", "type": "string"}]}, "minor"),
    ("input-made-optional", {"inputs": [X, {**Y, "required": False}]}, "minor"),
    ("inputs-reordered", {"inputs": [Y, X]}, "patch"),
    ("input-removed", {"inputs": [X]}, "major"),
    ("input-renamed", {"inputs": [X, {**Y, "name": "y2"}]}, "major"),
    ("input-retyped", {"inputs": [X, {**Y, "type": "string"}]}, "major"),
    ("signature-dropped", {"inputs": None}, "major"),
    ("flavor-changed", {"flavors": ("python_function", "pytorch")}, "major"),
    ("model-class-changed", {"model_class": "sklearn.ensemble.RandomForestClassifier"}, "major"),
    ("class-and-params-changed", {"model_class": "xgboost.XGBClassifier", "params": {"n": "3"}}, "major"),
    ("input-added-and-params", {"inputs": [X, Y, {"name": "z", "type": "string"}], "params": {}}, "minor"),
]


@pytest.mark.parametrize(("change", "kind"), [(c[1], c[2]) for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_each_kind_of_change_bumps_its_part(change, kind):
    after = replace(BASE, **{"content_hash": H2, **change})
    result = semver.classify(BASE, after)
    assert result.kind == kind
    assert result.reasons or kind == "patch"
    expected = {"same": "1.4.2", "patch": "1.4.3", "minor": "1.5.0", "major": "2.0.0"}[kind]
    assert (
        semver.label(after, before=BASE, before_label="1.4.2+11111111")
        == f"{expected}+{after.content_hash[7:15]}"
    )


TENSOR_CHANGES = [
    ("same-tensor", TENSOR, "patch"),
    ("tensor-dtype", {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}, "major"),
    ("tensor-shape", {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}, "major"),
]


@pytest.mark.parametrize(
    ("spec", "kind"), [(c[1], c[2]) for c in TENSOR_CHANGES], ids=[c[0] for c in TENSOR_CHANGES]
)
def test_unnamed_tensor_inputs_compare_by_position_dtype_and_shape(spec, kind):
    before = replace(BASE, inputs=[TENSOR])
    assert semver.classify(before, replace(before, content_hash=H2, inputs=[spec])).kind == kind


def test_a_signature_where_there_was_none_is_minor_and_none_on_both_sides_is_patch():
    before = replace(BASE, inputs=None)
    assert semver.classify(before, replace(BASE, content_hash=H2)).kind == "minor"
    assert semver.classify(before, replace(before, content_hash=H2)).kind == "patch"


def test_an_optional_input_made_required_is_major():
    before = replace(BASE, inputs=[X, {**Y, "required": False}])
    assert semver.classify(before, replace(BASE, content_hash=H2)).kind == "major"


def test_a_first_version_is_1_0_0_with_its_hash8():
    assert semver.label(BASE) == "1.0.0+11111111"


def test_labels_are_stable_for_the_same_facts():
    after = replace(BASE, content_hash=H2, params={"C": "2"})
    labels = {semver.label(after, before=BASE, before_label="3.1.4+11111111") for _ in range(5)}
    assert labels == {"3.2.0+22222222"}
    # the order of flavors and params does not matter
    shuffled = replace(
        after, flavors=tuple(reversed(after.flavors)), params=dict(reversed(list(after.params.items())))
    )
    assert semver.label(shuffled, before=BASE, before_label="3.1.4+11111111") == "3.2.0+22222222"


@pytest.mark.parametrize("bad", ["1.0+abcdef01", "v1.0.0-abcdef01", "1.0.0+ABC", "1.0.0"])
def test_a_malformed_previous_label_is_refused(bad):
    with pytest.raises(ValueError):
        semver.label(replace(BASE, content_hash=H2), before=BASE, before_label=bad)


def test_a_content_hash_that_is_not_hex_is_refused():
    with pytest.raises(ValueError):
        semver.hash8("sha256:not-hex")
