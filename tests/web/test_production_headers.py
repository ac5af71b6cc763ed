"""Issue 14: the security headers and cookies of real answers under production settings. The settings that shape
them are read from a production process (tests/support/deploy.py's environment: DEBUG off, TLS behind a proxy
that says so in X-Forwarded-Proto) and applied here, so that the app's own middleware answers a page, a login,
an API call and an error with them (a middleware reads its settings when the client first builds it)."""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie

import pytest
from django.test import Client

from tests.support.deploy import production_env, run

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_pass_only.with_args(reason="headers and cookies do not depend on the database"),
]
PASSWORD = "pw-correct-horse-battery"
# What shapes the headers and cookies of an answer (Django's defaults where settings.py keeps them).
SHAPING = (
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_REDIRECT_EXEMPT", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY", "X_FRAME_OPTIONS", "CONTENT_SECURITY_POLICY",
    "CONTENT_SECURITY_POLICY_EXEMPT_PREFIXES", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "MIDDLEWARE",
)  # fmt: skip
# The exact policy: our own origin only, no inline or eval'd code, no plugins, no framing, no foreign forms.
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {SHAPING!r}}}))"
    )
    done = run(["-c", code], production_env(tmp_path_factory.mktemp("production")))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def https(production, settings, make_user):
    """A client behind the TLS proxy (X-Forwarded-Proto: https) of an app with the production settings."""
    for name, value in production.items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    assert settings.DEBUG is False and settings.SECURE_SSL_REDIRECT is True
    make_user("ops", password=PASSWORD)
    # The proxy's Host header, without the port the test client would add (Django's referer check compares it).
    return Client(enforce_csrf_checks=True, HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver")


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def _cookie_attributes(response, name: str) -> dict[str, str]:
    morsel = SimpleCookie(response.cookies[name].OutputString())[name]
    return {key: str(morsel[key]) for key in ("secure", "httponly", "samesite", "path")}


def assert_security_headers(response) -> None:
    h = response.headers
    assert h["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert _directives(h["Content-Security-Policy"]) == CSP
    assert not re.search(r"unsafe-(inline|eval)|unsafe-hashes|\*", h["Content-Security-Policy"])
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https(https, production):
    response = Client().get("/accounts/login/")  # no X-Forwarded-Proto: plain http reached the app

    assert response.status_code == 301
    assert response.headers["Location"] == "https://testserver/accounts/login/"


@pytest.mark.parametrize(
    ("path", "status"), [("/accounts/login/", 200), ("/no-such-page/", 404), ("/api/v1/models/", 401)]
)
def test_pages_api_answers_and_errors_carry_the_security_headers(https, path, status):
    response = https.get(path)

    assert response.status_code == status
    assert_security_headers(response)


def test_the_csrf_and_session_cookies_are_secure_and_same_site_and_the_session_one_http_only(https):
    login = https.get("/accounts/login/")
    csrf = _cookie_attributes(login, "csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.content.decode()).group(1)

    signed_in = https.post(
        "/accounts/login/",
        {"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": "https://testserver/accounts/login/", "Origin": "https://testserver"},
    )

    assert signed_in.status_code == 302, signed_in.content[:500]
    assert_security_headers(signed_in)
    assert _cookie_attributes(signed_in, "sessionid") == {
        "secure": "True", "httponly": "True", "samesite": "Lax", "path": "/"
    }  # fmt: skip
    # htmx reads the token from the page, and settings.py keeps Django's default (not HttpOnly) for the CSRF
    # cookie; Secure and SameSite it must be.
    assert csrf == {"secure": "True", "httponly": "", "samesite": "Lax", "path": "/"}
