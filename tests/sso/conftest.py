"""Fixtures of the single sign-on tests: a real OpenID Connect provider (tests/support/oidc.py) for the session,
and this app's settings pointing at it for one test."""

import pytest

from tests.support import oidc


@pytest.fixture(scope="session")
def provider_url():
    with oidc.provider() as base:
        yield base


@pytest.fixture
def sso(settings, provider_url):
    """Single sign-on on, against the test provider; returns its base URL."""
    for key, value in oidc.client_settings(provider_url).items():
        setattr(settings, key, value)
    return provider_url
