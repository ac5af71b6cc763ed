"""Cards are drafted from the mirror when a version appears; later versions carry the human sections forward."""

from __future__ import annotations

import pytest

from cards import generation, selectors, services
from cards.completeness import score_card
from cards.models import CardRevision
from cards.sections import HUMAN_SECTIONS
from cards.tasks import draft_new_version_cards
from mirror import hooks
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests import factories as f


@pytest.fixture
def eager_celery():
    from registry_ui.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_the_drafting_hook_is_registered():
    assert draft_new_version_cards in hooks._after_sync


# --- from the session's real MLflow server seeded with the demo models ------------------------------------------
@pytest.mark.mlflow
@pytest.mark.django_db(transaction=True)
def test_a_seeded_version_gets_a_card_drafted_by_the_sync(mlflow_uri, seeded_mlflow, eager_celery):
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    execute_sync(SyncRun.objects.create(kind="full").pk)

    versions = ModelVersion.objects.select_related("model", "source_run")
    assert versions.count() > 3
    assert (
        CardRevision.objects.filter(version__in=versions).values("version").distinct().count()
        == versions.count()
    )

    model = "credit-default-classifier"
    first = versions.filter(model__name=model).order_by("version").first()
    rev = selectors.latest_revision(first)
    md = rev.markdown
    run = first.source_run
    assert f"# {model} — version {first.version}" in md
    for dataset in run.datasets:
        assert dataset["digest"] in md  # training data with digests
    for key in run.metrics:
        assert f"| {key}" in md  # the metrics table
    assert run.tags["mlflow.source.git.commit"] in md if "mlflow.source.git.commit" in run.tags else True
    assert "| data.rows |" in md  # data.* tags
    for key in list(run.params)[:3]:
        assert f"| {key} |" in md
    if first.signature:  # artifacts were read before the hook ran
        assert "**Inputs**" in md
    assert HUMAN_SECTIONS["intended_use"][1] in md
    assert rev.author == "system" and rev.revision == 1
    assert (
        "intended_use" in rev.missing and "metrics" not in rev.missing and "training_data" not in rev.missing
    )


# --- carry-forward and regeneration (mirror rows built directly) ----------------------------------------------
def _snapshot(versions, metrics_by_run):
    runs = {f"run{v}": f.mlflow_run(f"run{v}", metrics=metrics_by_run[v]) for v in versions}
    return f.snapshot([f.mlflow_model("churn")], [f.mlflow_version("churn", v, run_id=f"run{v}") for v in versions],
                      runs=runs)  # fmt: skip


@pytest.mark.django_db
def test_a_new_version_carries_the_human_sections_forward():
    apply_snapshot(_snapshot([1], {1: {"f1": 0.7}}))
    v1 = ModelVersion.objects.get(version=1)
    draft = services.ensure_card(mv=v1)
    md = draft.markdown.replace(HUMAN_SECTIONS["intended_use"][1], "Churn scoring for the retention team.")
    md = md.replace(HUMAN_SECTIONS["ethical_considerations"][1], "No protected attributes.")
    md += "\n## Maintainers\n\nThe churn squad.\n"
    saved = services.save_card(mv=v1, markdown=md, author="eve", base_revision=1)

    result = apply_snapshot(_snapshot([1, 2], {1: {"f1": 0.7}, 2: {"f1": 0.9, "recall": 0.6}}))
    services.draft_cards(version_ids=result.new_version_ids)
    v2 = ModelVersion.objects.get(version=2)
    card = selectors.latest_revision(v2)
    text = card.markdown

    assert "# churn — version 2" in text and "# churn — version 1" not in text
    assert "Churn scoring for the retention team." in text
    assert "No protected attributes." in text and "The churn squad." in text
    assert text.count("Carried forward from version 1 (card revision 2)") == 3  # each human-written section
    assert "carried-forward" not in card.html  # the marker comment is never shown
    assert "Carried forward from version 1" in card.html  # the note is
    assert "| recall |" in text and "0.9" in text  # fresh generated sections
    assert HUMAN_SECTIONS["factors"][1] in text  # placeholders stay placeholders, unmarked
    assert "carry" in card.comment.lower() or "carried" in card.comment.lower()
    assert card.score == score_card(text)[0]
    assert saved.revision == 2


@pytest.mark.django_db
def test_carrying_forward_twice_does_not_stack_notes():
    apply_snapshot(_snapshot([1], {1: {"f1": 0.7}}))
    v1 = ModelVersion.objects.get(version=1)
    md = services.ensure_card(mv=v1).markdown.replace(HUMAN_SECTIONS["factors"][1], "Region.")
    services.save_card(mv=v1, markdown=md, author="eve", base_revision=1)
    result = apply_snapshot(_snapshot([1, 2, 3], {1: {"f1": 0.7}, 2: {"f1": 0.8}, 3: {"f1": 0.9}}))
    services.draft_cards(version_ids=result.new_version_ids)
    v3 = selectors.latest_revision(ModelVersion.objects.get(version=3)).markdown
    assert v3.count("Carried forward from") == 1
    assert "Carried forward from version 2" in v3


@pytest.mark.django_db
def test_the_first_version_starts_from_the_template():
    apply_snapshot(_snapshot([1], {1: {"f1": 0.7}}))
    card = services.ensure_card(mv=ModelVersion.objects.get())
    assert "Carried forward" not in card.markdown
    for heading, placeholder in HUMAN_SECTIONS.values():
        assert f"## {heading}\n\n{placeholder}" in card.markdown


@pytest.mark.django_db
def test_drafting_is_idempotent():
    result = apply_snapshot(_snapshot([1], {1: {"f1": 0.7}}))
    assert services.draft_cards(version_ids=result.new_version_ids) == 1
    assert services.draft_cards(version_ids=result.new_version_ids) == 0
    assert CardRevision.objects.count() == 1


def test_regenerating_never_touches_text_outside_the_markers():
    facts = {"model": {"name": "m", "aliases": {}}, "version": {"version": 1, "tags": {}},
             "run": {"metrics": {"a": 1.0}, "params": {}, "tags": {}, "datasets": []}, "histories": {}}  # fmt: skip
    md = generation.draft_card(facts)
    human = md.replace(HUMAN_SECTIONS["factors"][1], "Human <!-- generated:start fake --> text")
    human = human.replace("## Metrics\n", "## Metrics\n\nA human note above the table.\n")
    facts["run"]["metrics"] = {"a": 2.0, "b": 3.0}
    out = generation.regenerate(human, facts)
    assert "A human note above the table." in out and "Human <!-- generated:start fake --> text" in out
    assert "| b | 3 |" in out
    assert generation.regenerate(out, facts) == out  # stable


def test_a_deleted_generated_section_comes_back_at_the_end():
    facts = {
        "model": {"name": "m", "aliases": {}},
        "version": {"version": 1, "tags": {}},
        "run": None,
        "histories": {},
    }
    md = generation.draft_card(facts)
    start = md.index("## Signature")
    end = md.index("## Aliases and stages")
    out = generation.regenerate(md[:start] + md[end:], facts)
    assert out.rstrip().endswith("<!-- generated:end signature -->")


def test_generated_tables_escape_what_mlflow_holds():
    facts = {"model": {"name": "m", "aliases": {}}, "version": {"version": 1, "tags": {"note": "a|b <script>x</script>"}},
             "run": {"metrics": {}, "params": {"p": "x\ny|z"}, "tags": {}, "datasets": []}, "histories": {}}  # fmt: skip
    md = generation.draft_card(facts)
    assert "a\\|b &lt;script&gt;" in md and "x y\\|z" in md
