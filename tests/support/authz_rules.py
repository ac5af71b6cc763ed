"""The authorization matrix's one declarative table: who may do each operation, by role and by the relation of
the actor to the object (requester, author, eligible signer, owner), from API.md's "Roles" section. The matrix
(tests/security/test_authz_matrix.py) asks every operation of the served schema and of the URL configuration
here; an operation missing from the table fails it.

Outcomes: `login` (not authenticated: 401 under /api/, a redirect to the login page elsewhere), `deny` (403),
`hidden` (404: not yours), `allow` (anything else below 500: the check let the request through, whatever its
body then made of it). Pages read the session only: an API token on a page is no login."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audit import roles

LOGIN, DENY, HIDDEN, ALLOW = "login", "deny", "hidden", "allow"
READER = "reader"  # signed in, in no role group
ROLES = (READER, roles.ML_ENGINEERS, roles.REVIEWERS, roles.APPROVERS, roles.AUDITORS, roles.STAFF)
USERNAMES = {READER: "rea", roles.ML_ENGINEERS: "eng", roles.REVIEWERS: "rev", roles.APPROVERS: "appr",
             roles.AUDITORS: "aud", roles.STAFF: "boss"}  # fmt: skip


@dataclass(frozen=True)
class Actor:
    role: str | None  # None: anonymous
    via: str  # anonymous | session | token | no-csrf (a session whose writes carry no CSRF token)

    @property
    def label(self) -> str:
        return "anonymous" if self.role is None else f"{self.role}/{self.via}"

    @property
    def username(self) -> str:
        return USERNAMES.get(self.role or "", "")


ACTORS = (
    Actor(None, "anonymous"),
    *(Actor(r, via) for via in ("session", "token") for r in ROLES),
    Actor(roles.STAFF, "no-csrf"),  # a cross-site form posted with staff's session cookie
)
ANONYMOUS = ACTORS[0]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Subject:
    """What the rules may ask of the object acted on."""

    label: str = ""
    requester: str = ""
    authors: frozenset[str] = frozenset()
    signer_groups: frozenset[str] = frozenset()
    owner: str = ""


Rule = Callable[[Actor, Subject], str]


def _only(*allowed: str) -> Rule:
    def rule(actor: Actor, subject: Subject) -> str:
        if actor.role is None:
            return LOGIN
        return ALLOW if actor.role in allowed else DENY

    rule.__name__ = "only " + ", ".join(allowed)
    return rule


def anyone(actor: Actor, subject: Subject) -> str:
    return ALLOW


def by_signature(actor: Actor, subject: Subject) -> str:
    """The MLflow webhook authenticates by HMAC signature alone: no login opens it (401 unsigned)."""
    return LOGIN


def logs_out(actor: Actor, subject: Subject) -> str:
    """Logging out (ours, or single sign-on's) ends any session and goes back to the login page."""
    return LOGIN


signed_in = _only(*ROLES)
staff = _only(roles.STAFF)
exporters = _only(roles.AUDITORS, roles.STAFF)
makers = _only(roles.ML_ENGINEERS, roles.REVIEWERS, roles.STAFF)  # request, edit cards, package


def recheckers(actor: Actor, subject: Subject) -> str:
    """The requester, whoever may request promotions, and staff re-run the gates."""
    return ALLOW if actor.role and actor.username == subject.requester else makers(actor, subject)


def cancellers(actor: Actor, subject: Subject) -> str:
    return ALLOW if actor.role and actor.username == subject.requester else staff(actor, subject)


def signers(actor: Actor, subject: Subject) -> str:
    """A member of a group the target's policy names, neither the requester nor an author of the version."""
    if actor.role is None:
        return LOGIN
    eligible = actor.role in subject.signer_groups
    conflict = actor.username == subject.requester or actor.username in subject.authors
    return ALLOW if eligible and not conflict else DENY


def owner_or_staff(actor: Actor, subject: Subject) -> str:
    """Your own tokens (staff: anyone's); somebody else's token is not found."""
    if actor.role is None:
        return LOGIN
    return ALLOW if actor.role == roles.STAFF or actor.username == subject.owner else HIDDEN


def session_only(actor: Actor, subject: Subject) -> str:
    """Tokens are made from a signed-in session, never by a token."""
    if actor.role is None:
        return LOGIN
    return DENY if actor.via == "token" else ALLOW


def expected(kind: str, method: str, rule: Rule, actor: Actor, subject: Subject) -> str:
    """The outcome for this actor: pages read the session only (a token there is no login); a write with a
    session but no CSRF token is refused (403) wherever a session counts, the signed webhook aside."""
    if kind == "page" and actor.via == "token":
        return rule(ANONYMOUS, subject)
    if actor.via == "no-csrf" and method not in SAFE_METHODS and rule is not by_signature:
        return DENY
    return rule(actor, subject)


V = "/api/v1"
MV = V + "/models/{name}/versions/{version}"
API_RULES: dict[tuple[str, str], Rule] = {
    ("GET", V + "/audit/"): signed_in, ("GET", V + "/audit/checkpoints"): signed_in,
    ("GET", V + "/audit/verify"): signed_in, ("GET", V + "/audit/export"): exporters,
    ("GET", V + "/cards/exports/"): exporters, ("POST", V + "/cards/exports/"): exporters,
    ("GET", V + "/cards/exports/{id}/"): exporters, ("GET", V + "/cards/exports/{id}/download"): exporters,
    ("GET", V + "/compare/"): signed_in, ("GET", V + "/compare/history"): signed_in,
    ("GET", V + "/datasets/flags/"): signed_in, ("POST", V + "/datasets/flags/"): staff,
    ("DELETE", V + "/datasets/flags/{digest}"): staff,
    ("GET", V + "/deliveries/"): staff, ("GET", V + "/deliveries/{id}"): staff,
    ("POST", V + "/deliveries/{id}/replay"): staff,
    ("GET", V + "/drift/"): signed_in, ("GET", V + "/evidence/"): exporters,
    ("GET", V + "/lineage/{name}/{version}/"): signed_in, ("GET", V + "/lineage/{name}/{version}/openlineage"): signed_in,
    ("GET", V + "/lineage/impact/"): signed_in,
    ("GET", V + "/models/"): signed_in, ("GET", V + "/models/{name}/"): signed_in,
    ("GET", V + "/models/{name}/history"): signed_in, ("POST", V + "/models/{name}/history/adopt"): staff,
    ("GET", V + "/models/{name}/parallel/chart"): signed_in, ("GET", V + "/models/{name}/trend"): signed_in,
    ("GET", V + "/models/{name}/trend/chart"): signed_in, ("GET", V + "/models/{name}/versions/"): signed_in,
    ("GET", MV + "/"): signed_in, ("GET", MV + "/card"): signed_in, ("PUT", MV + "/card"): makers,
    ("GET", MV + "/card/diff"): signed_in, ("GET", MV + "/card/export"): signed_in,
    ("POST", MV + "/card/regenerate"): makers, ("GET", MV + "/card/revisions"): signed_in,
    ("GET", MV + "/card/revisions/{revision}"): signed_in, ("GET", MV + "/metrics/{key}/history"): signed_in,
    ("GET", MV + "/packages"): signed_in, ("POST", MV + "/packages"): makers,
    ("GET", V + "/packages/"): signed_in, ("GET", V + "/packages/{id}"): signed_in,
    ("GET", V + "/packages/{id}/download"): signed_in,
    ("GET", V + "/promotions/"): signed_in, ("POST", V + "/promotions/"): makers,
    ("GET", V + "/promotions/{id}/"): signed_in, ("POST", V + "/promotions/{id}/approve"): signers,
    ("POST", V + "/promotions/{id}/reject"): signers, ("POST", V + "/promotions/{id}/cancel"): cancellers,
    ("POST", V + "/promotions/{id}/recheck"): recheckers, ("POST", V + "/rollbacks/"): makers,
    ("GET", V + "/service-accounts/"): staff, ("POST", V + "/service-accounts/"): staff,
    ("GET", V + "/subscriptions/"): staff, ("POST", V + "/subscriptions/"): staff,
    ("DELETE", V + "/subscriptions/{id}"): staff,
    ("POST", V + "/sync/"): staff, ("GET", V + "/sync/runs/"): signed_in, ("GET", V + "/sync/runs/{id}/"): signed_in,
    ("GET", V + "/targets/"): signed_in,
    ("GET", V + "/tokens/"): signed_in, ("POST", V + "/tokens/"): session_only,
    ("DELETE", V + "/tokens/{id}"): owner_or_staff,
}  # fmt: skip


def sso_off(actor: Actor, subject: Subject) -> str:
    """Single sign-on's endpoints are 404 while it is not configured (the test settings)."""
    return HIDDEN


MP = "/models/{name}/versions/{version}"
PAGE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): signed_in, ("GET", "/models/"): signed_in, ("GET", "/models/{name}/"): signed_in,
    ("GET", MP + "/"): signed_in, ("GET", "/sync/"): signed_in, ("POST", "/sync/"): staff,
    ("GET", "/promotions/"): signed_in,
    ("GET", "/promotions/request/{name}/{version}/"): makers, ("POST", "/promotions/request/{name}/{version}/"): makers,
    ("GET", "/promotions/{pk}/"): signed_in, ("GET", "/promotions/{pk}/gates/"): signed_in,
    ("POST", "/promotions/{pk}/sign/"): signers, ("GET", "/promotions/sso-sign/callback/"): signed_in,
    ("POST", "/promotions/{pk}/cancel/"): cancellers, ("POST", "/promotions/{pk}/recheck/"): recheckers,
    ("GET", "/models/{name}/history/"): signed_in,
    ("GET", "/models/{name}/rollback/"): makers, ("POST", "/models/{name}/rollback/"): makers,
    ("GET", "/models/{name}/adopt/"): staff, ("POST", "/models/{name}/adopt/"): staff,
    ("GET", "/drift/"): signed_in,
    ("GET", "/evidence/"): exporters, ("POST", "/evidence/"): exporters, ("GET", "/evidence/{pk}/"): exporters,
    ("GET", "/evidence/{pk}/download/"): exporters,
    ("GET", "/audit/"): signed_in, ("GET", "/audit/verify/"): signed_in, ("GET", "/policy/"): signed_in,
    ("GET", MP + "/card/"): signed_in, ("GET", MP + "/card/edit/"): makers, ("POST", MP + "/card/edit/"): makers,
    ("POST", MP + "/card/preview/"): makers, ("POST", MP + "/card/regenerate/"): makers,
    ("GET", MP + "/card/revisions/"): signed_in, ("GET", MP + "/card/revisions/{revision}/"): signed_in,
    ("GET", MP + "/card/diff/"): signed_in, ("GET", MP + "/card/export/"): signed_in,
    ("GET", "/cards/exports/"): exporters, ("POST", "/cards/exports/"): exporters,
    ("GET", "/cards/exports/{pk}/"): exporters, ("GET", "/cards/exports/{pk}/download/"): exporters,
    ("GET", "/compare/"): signed_in, ("GET", "/compare/csv"): signed_in,
    ("GET", "/compare/holders/{name}/{version}/"): signed_in,
    ("GET", "/lineage/dataset/"): signed_in, ("GET", "/lineage/{name}/{version}/"): signed_in,
    ("GET", "/lineage/{name}/{version}/compact/"): signed_in, ("GET", "/models/{name}/lineage/"): signed_in,
    ("GET", "/events/"): staff, ("POST", "/events/"): staff, ("POST", "/events/subscriptions/{pk}/delete/"): staff,
    ("GET", "/events/deliveries/"): staff, ("GET", "/events/deliveries/{pk}/"): staff,
    ("POST", "/events/deliveries/{pk}/replay/"): staff,
    ("GET", MP + "/packages/"): signed_in, ("POST", MP + "/packages/start/"): makers,
    ("GET", "/packages/"): signed_in, ("GET", "/packages/{pk}/"): signed_in,
    ("GET", "/packages/{pk}/download/"): signed_in,
    ("GET", "/accounts/login/"): anyone, ("POST", "/accounts/login/"): anyone,
    ("GET", "/oidc/callback/"): sso_off, ("GET", "/oidc/authenticate/"): sso_off,
    ("POST", "/oidc/logout/"): logs_out, ("POST", "/accounts/logout/"): logs_out,
    ("GET", "/accounts/profile/"): signed_in, ("POST", "/accounts/profile/"): signed_in,
    ("POST", "/webhooks/mlflow/"): by_signature,
    ("GET", "/api/schema/"): anyone, ("GET", "/api/docs/"): anyone, ("GET", "/healthz"): anyone,
}  # fmt: skip

# Which object a path parameter names: (template prefix, parameter) -> the world's object kind; a parameter
# no row resolves fails the matrix (a new endpoint must say what it acts on).
PARAM_KINDS: list[tuple[str, str, str]] = [
    ("/api/v1/promotions/", "id", "promotion"), ("/promotions/", "pk", "promotion"),
    ("/api/v1/cards/exports/", "id", "bulk_export"), ("/cards/exports/", "pk", "bulk_export"),
    ("/api/v1/deliveries/", "id", "delivery"), ("/events/deliveries/", "pk", "delivery"),
    ("/api/v1/subscriptions/", "id", "subscription"), ("/events/subscriptions/", "pk", "subscription"),
    ("/api/v1/packages/", "id", "package"), ("/packages/", "pk", "package"),
    ("/api/v1/sync/runs/", "id", "sync_run"), ("/api/v1/tokens/", "id", "token"), ("/evidence/", "pk", "evidence"),
    ("", "name", "name"), ("", "version", "version"), ("", "revision", "revision"), ("", "key", "key"),
    ("", "digest", "digest"),
]  # fmt: skip
