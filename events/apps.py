from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Outbound events"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready. Importing the
        # tasks registers them with the Celery app.
        from audit import listeners
        from events import outbox, tasks  # noqa: F401

        # Every event this app sends out is a state change the audit chain records: one source.
        listeners.listen(outbox.on_audit_event)
