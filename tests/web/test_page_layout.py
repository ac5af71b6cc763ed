"""Page chrome: the main navigation marks the section a page belongs to."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

ACTIVE = re.compile(r'<a href="([^"]+)" class="active" aria-current="page">')


@pytest.mark.parametrize(
    "path, section",
    [
        ("/models/", "/models/"),
        ("/promotions/", "/promotions/"),
        ("/drift/", "/promotions/"),
        ("/compare/", "/compare/"),
        ("/audit/", "/audit/"),
        ("/policy/", "/policy/"),
        ("/sync/", "/sync/"),
    ],
)
def test_nav_highlights_the_section_of_the_page(client, staff, path, section):
    client.force_login(staff)
    response = client.get(path)
    assert response.status_code == 200
    nav = response.content.decode().split('<nav class="main-nav"', 1)[1].split("</nav>", 1)[0]
    assert ACTIVE.findall(nav) == [section]
