"""Tokens issued before hashing (DRF's authtoken table, keys in plain text) keep working: each key becomes an
ApiToken row holding only its SHA-256 digest (no expiry, named "token from before hashing"), then the plain
table is dropped. Nothing to do on a database that never had it."""

import datetime
import hashlib

from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime

LEGACY_TABLE = "authtoken_token"


def _aware(created):
    if isinstance(created, str):  # SQLite answers raw queries with text
        created = parse_datetime(created)
    if created is None:
        return timezone.now()
    return created if timezone.is_aware(created) else timezone.make_aware(created, datetime.UTC)


def hash_legacy_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {LEGACY_TABLE}")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        ApiToken.objects.create(
            user_id=user_id,
            name="token from before hashing",
            lookup=key[:12],
            digest=hashlib.sha256(key.encode("utf-8")).hexdigest(),
            created_at=_aware(created),
            expires_at=None,
        )
    schema_editor.execute(f"DROP TABLE {LEGACY_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop)]
