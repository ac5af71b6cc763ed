"""One bounded JSON parser for every request body (the API's parser class and the webhook receiver).

`json.loads` has no depth limit: a body of 100,000 nested `[` overflowed the stack (RecursionError, a 500),
and a parsed value nested a few hundred levels deep still overflows later, in serializers, JSONField
encoding or the audit hash. Here the C decoder parses (fast, linear), its own RecursionError becomes a
ValueError, and an iterative walk refuses what nests deeper than JSON_MAX_DEPTH. Size is bounded before
parsing by DATA_UPLOAD_MAX_MEMORY_SIZE (Django's own limit, which DRF's stream reading bypasses).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JSONInputError(ValueError):
    """The body is not JSON we accept; the message is a sentence for the client."""


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def _refuse_constant(name: str):
    raise JSONInputError(f"{name} is not a JSON value.")


def _depth_over(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(data: bytes | str, *, max_depth: int | None = None) -> Any:
    """Parse a JSON document; JSONInputError (a ValueError) when it is not JSON or nests too deep."""
    limit = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise JSONInputError(f"The JSON nests too deep (the limit is {limit} levels).") from None
    except JSONInputError:
        raise
    except ValueError as exc:  # JSONDecodeError, and integers past Python's digit limit
        raise JSONInputError(f"The body is not valid JSON: {exc}.") from None
    if _depth_over(value, limit):
        raise JSONInputError(f"The JSON nests too deep (the limit is {limit} levels).")
    return value


def read_limited(stream, limit: int | None) -> bytes:
    """At most `limit` bytes of a request stream; BodyTooLarge past it."""
    if stream is None:
        return b""
    if limit is None:
        return stream.read()
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge(f"The request body is larger than {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE).")
    return raw


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the size and depth limits above; errors are 400 (413 for size)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            return loads(raw)
        except JSONInputError as exc:
            raise exceptions.ParseError(str(exc)) from None
