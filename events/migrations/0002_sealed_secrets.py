"""Subscription secrets leave the database in plain text: each one is sealed under OUTBOUND_SECRETS_KEY for
its subscription (events.sealing), and the plain column is dropped. Going back opens them again (the key is
needed both ways)."""

from django.db import migrations, models

from events import sealing


def seal_secrets(apps, schema_editor):
    Subscription = apps.get_model("events", "Subscription")
    for sub in Subscription.objects.using(schema_editor.connection.alias).only("pk", "secret"):
        sub.sealed_secret = sealing.seal(sub.secret, sub.pk)
        sub.save(update_fields=["sealed_secret"])


def open_secrets(apps, schema_editor):
    Subscription = apps.get_model("events", "Subscription")
    for sub in Subscription.objects.using(schema_editor.connection.alias).only("pk", "sealed_secret"):
        sub.secret = sealing.unseal(sub.sealed_secret, sub.pk)
        sub.save(update_fields=["secret"])


class Migration(migrations.Migration):
    dependencies = [("events", "0001_outbound_events")]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="sealed_secret",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        # The plain column may be empty on the way back, until open_secrets fills it.
        migrations.AlterField(
            model_name="subscription",
            name="secret",
            field=models.CharField(max_length=256, default=""),
        ),
        migrations.RunPython(seal_secrets, open_secrets),
        migrations.RemoveField(model_name="subscription", name="secret"),
    ]
