"""The OpenAPI schema documents the error answers every operation can give (API.md's conventions), so that a
client — and the schemathesis suite — finds each status the API sends described: 400 bad input wherever an
operation takes a query string or a body, 401 wherever it needs credentials, 404 wherever it names an object
in its path (or pages through a list: a page past the end is 404, DRF's behaviour). Statuses an operation
already documents are left as they are."""

from typing import Any

ERROR = {
    "type": "object",
    "description": "An error: `detail` says what went wrong; a validation error maps field names to messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
REASONS = {
    "400": "Bad input: a parameter or the body is malformed, out of range or names nothing known.",
    "401": "Not authenticated (token or session), or an expired or revoked token.",
    "404": "Unknown object, or a page past the end of the list.",
}
METHODS = ("get", "put", "post", "delete", "patch")


def _error_response(status: str) -> dict[str, Any]:
    return {
        "description": REASONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _statuses(operation: dict[str, Any]) -> list[str]:
    locations = {parameter.get("in") for parameter in operation.get("parameters", [])}
    names = {parameter.get("name") for parameter in operation.get("parameters", [])}
    statuses = []
    if "query" in locations or "header" in locations or "requestBody" in operation:
        statuses.append("400")
    if operation.get("security") != [{}] and operation.get("security", [None]) != []:
        statuses.append("401")
    if "path" in locations or "page" in names:
        statuses.append("404")
    return statuses


def document_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the error answers an operation can give and does not list."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR)
    for path, operations in result.get("paths", {}).items():
        if path.startswith("/api/schema/"):
            continue
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in _statuses(operation):
                responses.setdefault(status, _error_response(status))
    return result
