"""The authorization matrix's machinery: the operations (the served OpenAPI schema and the URL configuration),
their instances on the seeded world, one request per (instance, actor) rolled back after it, and the outcome
each answer means. What is expected is in tests/support/authz_rules.py alone."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from common.errors import NotAllowed
from tests.support import authz_rules as rules
from tests.support.authz_world import DIGEST, World
from tests.support.governance import PASSWORD

METHODS = ("get", "post", "put", "patch", "delete")
SKIPPED_PREFIXES = ("admin/",)  # Django's admin: its own staff and model-permission checks, not ours
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Operation:
    kind: str  # api | page
    method: str
    template: str  # /api/v1/promotions/{id}/approve, /promotions/{pk}/sign/


@dataclass(frozen=True)
class Instance:
    op: Operation
    path: str
    subject: rules.Subject


def api_operations() -> list[Operation]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        Operation("api", method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    ]


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route


def url_templates() -> list[str]:
    """Every route of the URL configuration as a template (`/models/{name}/`), Django's admin aside."""
    return sorted(
        {"/" + PARAM.sub(r"{\1}", r) for r in _routes(get_resolver()) if not r.startswith(SKIPPED_PREFIXES)}
    )


def _template_key(template: str) -> str:
    return re.sub(r"{\w+}", "{}", template)


def api_routes_missing_from_schema(api_ops: list[Operation]) -> list[str]:
    served = {_template_key(op.template) for op in api_ops}
    return [t for t in url_templates() if t.startswith("/api/v1/") and _template_key(t) not in served]


def page_templates() -> list[str]:
    return [t for t in url_templates() if not t.startswith("/api/v1/")]


def _kind(template: str, param: str) -> str | None:
    for prefix, name, kind in rules.PARAM_KINDS:
        if name == param and template.startswith(prefix):
            return kind
    return None


def instances(op: Operation, world: World, queries: dict[str, str] | None = None) -> list[Instance] | str:
    """The operation on each object its path names (one per variant); a sentence when a parameter is unknown.
    `queries`: the query string added to a template's path (QUERIES by default)."""
    query = (QUERIES if queries is None else queries).get(op.template, "")
    found = [Instance(op, op.template + query, rules.Subject())]
    for param in re.findall(r"{(\w+)}", op.template):
        kind = _kind(op.template, param)
        if kind is None or kind not in world.params:
            return f"no object for {{{param}}}: add a row to authz_rules.PARAM_KINDS and the world"
        found = [
            Instance(
                op, i.path.replace(f"{{{param}}}", str(value)), world.subjects.get((kind, variant), i.subject)
            )
            for i in found
            for variant, value in world.params[kind].items()
        ]
    return found


CSRF_SECRET = "m" * 32  # a browser's csrftoken cookie, sent back in X-CSRFToken as the app's pages do


def clients(world: World) -> dict[rules.Actor, Client]:
    """A client per actor; sessions go through the CSRF checks as a browser's would."""
    made = {}
    for actor in rules.ACTORS:
        if actor.via == "token":
            made[actor] = Client(HTTP_AUTHORIZATION=f"Token {world.keys[actor.role]}")
        elif actor.via == "session":
            made[actor] = Client(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF_SECRET)
            made[actor].cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        else:
            made[actor] = Client(enforce_csrf_checks=actor.via == "no-csrf")
        if actor.via in ("session", "no-csrf"):
            made[actor].force_login(world.users[actor.role])
    return made


# Bodies that get a permitted request past validation, so that an object-level refusal is the only refusal.
API_BODIES = {"/approve": {"password": PASSWORD, "meaning": "approval"}, "/reject": {"password": PASSWORD}}
PAGE_BODIES = {"/sign/": {"password": PASSWORD, "decision": "approve", "meaning": "approval"}}


# Query strings naming a seeded object where the page or answer is about one (a path names no object there).
QUERIES = {"/lineage/dataset/": f"?digest={DIGEST}", "/api/v1/lineage/impact/": f"?dataset_digest={DIGEST}"}


def _body(inst: Instance) -> dict:
    bodies = API_BODIES if inst.op.kind == "api" else PAGE_BODIES
    return next((b for suffix, b in bodies.items() if inst.op.template.endswith(suffix)), {})


@contextmanager
def refusals_counted() -> Iterator[list]:
    """NotAllowed raised while serving (a page form may answer a refusal with a redirect and a message)."""
    raised: list = []
    original = NotAllowed.__init__

    def spy(self, *args, **kwargs):
        raised.append(args)
        original(self, *args, **kwargs)

    NotAllowed.__init__ = spy  # type: ignore[method-assign]
    try:
        yield raised
    finally:
        NotAllowed.__init__ = original  # type: ignore[method-assign]


def outcome(response, refused: bool) -> str:
    status = response.status_code
    location = response.get("Location", "") if status in (301, 302, 303) else ""
    if status >= 500:
        return "error"
    if status == 401 or location.startswith(settings.LOGIN_URL):
        return rules.LOGIN
    if status == 403 or refused:
        return rules.DENY
    return rules.HIDDEN if status == 404 else rules.ALLOW


def ask(client: Client, inst: Instance, refusals: list) -> tuple[int, str]:
    """One request, rolled back after it so that every actor meets the same world: (status, outcome)."""
    method = getattr(client, inst.op.method.lower())
    body = _body(inst)
    cookies = copy.copy(client.cookies)  # a logout or a login must not change the next request's session
    with transaction.atomic():
        mark = len(refusals)
        if inst.op.kind == "api":
            response = method(inst.path, body, content_type="application/json")
        else:
            response = method(inst.path, body) if inst.op.method == "POST" else method(inst.path)
        got = outcome(response, refused=len(refusals) > mark)
        if response.streaming:  # consumed: the test client closes it (a close here would drop the connection)
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response.status_code, got


def page_operations(staff: Client) -> list[Operation]:
    """Each page route's GET and POST, unless the route answers 405 to it (probed as staff)."""
    ops = []
    for template in page_templates():
        for method in ("GET", "POST"):
            probe = Instance(
                Operation("page", method, template), re.sub(r"{\w+}", "1", template), rules.Subject()
            )
            if ask(staff, probe, [])[0] != 405:
                ops.append(Operation("page", method, template))
    return ops
