from django.db import migrations


def install(apps, schema_editor):
    from audit import triggers

    triggers.install(schema_editor)


def uninstall(apps, schema_editor):
    from audit import triggers

    triggers.uninstall(schema_editor)


class Migration(migrations.Migration):
    """The database refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) of audit events."""

    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
