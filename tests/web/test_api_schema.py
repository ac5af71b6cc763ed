"""The OpenAPI schema describes every endpoint of API.md and generates without warnings."""

import io

import pytest
import yaml
from django.core.management import call_command

API_MD_PATHS = [
    "/api/v1/models/", "/api/v1/models/{name}/", "/api/v1/models/{name}/versions/",
    "/api/v1/models/{name}/versions/{version}/", "/api/v1/models/{name}/versions/{version}/metrics/{key}/history",
    "/api/v1/models/{name}/history", "/api/v1/sync/", "/api/v1/sync/runs/", "/api/v1/targets/",
    "/api/v1/promotions/", "/api/v1/promotions/{id}/", "/api/v1/promotions/{id}/approve",
    "/api/v1/promotions/{id}/reject", "/api/v1/promotions/{id}/cancel", "/api/v1/promotions/{id}/recheck",
    "/api/v1/rollbacks/", "/api/v1/drift/", "/api/v1/audit/", "/api/v1/audit/verify", "/api/v1/audit/export",
    "/api/v1/compare/", "/api/v1/models/{name}/trend",
    "/api/v1/models/{name}/versions/{version}/card", "/api/v1/models/{name}/versions/{version}/card/revisions",
    "/api/v1/models/{name}/versions/{version}/card/revisions/{n}",
    "/api/v1/models/{name}/versions/{version}/card/diff", "/api/v1/models/{name}/versions/{version}/card/export",
    "/api/v1/evidence/", "/api/v1/lineage/{name}/{version}/",
    "/api/v1/lineage/impact/",
]  # fmt: skip


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def _normalise(path: str) -> str:
    # Path parameter names differ (pk/id, revision/n); compare the shape.
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


def test_schema_describes_every_endpoint_of_the_contract(schema):
    described = {_normalise(p) for p in schema["paths"]}
    missing = [p for p in API_MD_PATHS if _normalise(p) not in described]
    assert missing == []


def _documented_endpoints(text: str) -> set[str]:
    """`METHOD /path` spans of docs/api.md (also `GET/POST /path`), query strings dropped."""
    import re

    found = set()
    for methods, path in re.findall(
        r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/[^`?\s]*)", text
    ):
        for method in methods.split("/"):
            found.add(f"{method} {_normalise(path)}")
    return found


def test_docs_api_md_lists_every_endpoint_the_schema_serves(schema):
    from pathlib import Path

    documented = _documented_endpoints((Path(__file__).resolve().parents[2] / "docs/api.md").read_text())
    served = {
        f"{method.upper()} {path}": operation.get("summary", "")
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    missing = [f"| `{endpoint}` | {summary} |" for endpoint, summary in sorted(served.items())
               if f"{endpoint.split()[0]} {_normalise(endpoint.split()[1])}" not in documented]  # fmt: skip
    assert not missing, "add these rows to the endpoint index of docs/api.md:\n" + "\n".join(missing)
