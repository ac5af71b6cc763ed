"""Issue 13: API tokens hashed at rest, shown once, named, expiring, listable, revocable, audited."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import keys
from accounts.models import ApiToken
from audit.models import AuditEvent
from tests.support.tokens import issue_key

pytestmark = pytest.mark.django_db
MODELS = "/api/v1/models/"


def _get(key: str, path: str = MODELS):
    return APIClient().get(path, HTTP_AUTHORIZATION=f"Token {key}")


def test_the_database_holds_no_usable_token(user):
    key = issue_key(user)
    assert _get(key).status_code == 200
    row = ApiToken.objects.values().get()
    assert key not in {str(v) for v in row.values()}
    for stored in (row["digest"], row["lookup"], row["lookup"] + row["digest"]):
        res = _get(stored)
        assert res.status_code == 401 and "Invalid token" in res.json()["detail"]


def test_an_expired_token_is_401_with_a_sentence(user):
    key = issue_key(user, name="old pipeline", days=1)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    res = _get(key)
    assert res.status_code == 401
    assert "'old pipeline'" in res.json()["detail"] and "expired at" in res.json()["detail"]
    assert res["WWW-Authenticate"] == "Token"


def test_a_revoked_token_is_401_with_a_sentence_and_the_revocation_is_audited(user):
    key = issue_key(user, name="laptop")
    token = ApiToken.objects.get()
    c = APIClient()
    c.force_authenticate(user)
    assert c.delete(f"/api/v1/tokens/{token.pk}").status_code == 204
    res = _get(key)
    assert res.status_code == 401 and "was revoked at" in res.json()["detail"]
    assert c.delete(f"/api/v1/tokens/{token.pk}").status_code == 409
    actions = list(AuditEvent.objects.filter(object_type="api_token").values_list("action", flat=True))
    assert actions == ["token.created", "token.revoked"]


def test_nobody_revokes_another_users_token(user, make_user):
    issue_key(make_user("other"))
    c = APIClient()
    c.force_authenticate(user)
    assert c.delete(f"/api/v1/tokens/{ApiToken.objects.get().pk}").status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_token_use_updates_last_used_at_most_once_a_minute(user):
    key = issue_key(user)
    assert ApiToken.objects.get().last_used_at is None
    _get(key)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    _get(key)
    assert ApiToken.objects.get().last_used_at == first  # within the minute: no write
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    _get(key)
    assert ApiToken.objects.get().last_used_at > first - timedelta(seconds=1)


def test_the_api_creates_lists_and_shows_the_key_once(user):
    c = APIClient()
    c.force_authenticate(user)
    res = c.post("/api/v1/tokens/", {"name": "release pipeline", "expires_in_days": 30}, format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["key"].startswith(keys.KEY_PREFIX) and body["status"] == "active"
    assert body["prefix"] == body["key"][: keys.LOOKUP_LENGTH]
    (listed,) = c.get("/api/v1/tokens/").json()
    assert "key" not in listed and listed["name"] == "release pipeline" and listed["id"] == body["id"]
    assert _get(body["key"]).status_code == 200
    assert AuditEvent.objects.filter(action="token.created", data__owner=user.username).count() == 1


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, "name is required"),
        ({"name": "x" * 101}, "limit is 100"),
        ({"name": "ci", "expires_in_days": 0}, "from 1 to"),
        ({"name": "ci", "expires_in_days": "soon"}, "whole number"),
        ({"name": "ci", "expires_in_days": 100000}, "from 1 to"),
    ],
)
def test_bad_token_requests_are_400_with_the_reason(user, body, words):
    c = APIClient()
    c.force_authenticate(user)
    res = c.post("/api/v1/tokens/", body, format="json")
    assert res.status_code == 400 and words in res.json()["detail"]


def test_a_token_cannot_mint_more_tokens(user):
    res = APIClient().post(
        "/api/v1/tokens/", {"name": "x"}, format="json", HTTP_AUTHORIZATION=f"Token {issue_key(user)}"
    )
    assert res.status_code == 403 and "profile page" in res.json()["detail"]
    assert ApiToken.objects.count() == 1


class _Editor:
    connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_tokens_from_before_hashing_keep_working_after_the_migration(user):
    legacy = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's format: 40 hex characters
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, created timestamp)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [legacy, user.pk, "2026-01-02 03:04:05"]
        )
    migration = importlib.import_module("accounts.migrations.0002_hash_drf_tokens")
    # A stand-in editor: SQLite's refuses to open inside a test's transaction.
    migration.hash_legacy_tokens(apps, _Editor())
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get()
    assert token.expires_at is None and legacy not in (token.digest, token.lookup)
    assert _get(legacy).status_code == 200
