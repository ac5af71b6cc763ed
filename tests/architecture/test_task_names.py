"""Celery task names are a wire format: messages already queued, beat's schedule (settings and the
django_celery_beat table) and services enqueuing by name all carry them. Moving a task's module must not
rename it, so every task pins its name, and this list changes only on purpose (with a migration of the beat
table and a drained queue)."""

from django.conf import settings

from registry_ui.celery import app

WIRE_NAMES = {
    "approvals.audit.tasks.write_checkpoint_task",
    "approvals.tasks.apply_outbox_task",
    "approvals.tasks.build_evidence_pack_task",
    "approvals.tasks.run_gates_task",
    "approvals.tasks.sweep_gates_task",
    "approvals.tasks.sweep_outbox_task",
    "events.tasks.deliver_task",
    "events.tasks.sweep_deliveries_task",
    "lineage.tasks.push_openlineage_task",
    "packager.tasks.run_package_job",
    "packager.tasks.sweep_package_jobs",
    "registry_ui.cards.tasks.build_bulk_export_task",
    "registry_ui.cards.tasks.draft_cards_task",
    "registry_ui.tasks.apply_mlflow_write_task",
    "registry_ui.tasks.read_version_artifacts_task",
    "registry_ui.tasks.reconcile_registry",
    "registry_ui.tasks.run_sync_task",
    "registry_ui.tasks.sweep_registry",
    "registry_ui.tasks.sweep_mlflow_writes_task",
}


def test_every_task_of_ours_keeps_its_wire_name():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == WIRE_NAMES


def test_beat_schedules_only_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)
