"""Fixtures of the security tests."""

import pytest


@pytest.fixture
def admin_client(client, make_user):
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    client.force_login(root)
    return client
