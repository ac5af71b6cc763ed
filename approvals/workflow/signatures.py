"""Signed decisions: approve (towards the quorum) and reject. Each signature re-authenticates the signer,
binds the hashes of what was signed, and is an audit event; a refused or failed attempt is one too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import signing, states
from approvals.eligibility import eligibility_problem
from approvals.models import Approval, Promotion
from approvals.workflow import queue
from approvals.workflow.hashes import binding
from approvals.workflow.quorum import approve_count, mark_approved
from approvals.workflow.transitions import S, audit_event, lock, read, set_state
from common.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound

MAX_COMMENT = 10_000  # characters
DECISION = Approval.Decision


def _printed_name(user: AbstractUser) -> str:
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def _sign(
    p: Promotion, user: AbstractUser, *, decision: str, meaning: str, comment: str, auth_method: str
) -> Approval:
    bound, card = binding(p)
    hashes = {
        **bound,
        "version_content_hash": p.version.content_hash,
        "card_revision": card.get("revision"),
        "card_content_hash": card.get("content_hash"),
        "gate_results_hash": bound["gates_hash"],  # the name signatures carried first
    }
    try:
        with transaction.atomic():
            return Approval.objects.create(
                promotion=p,
                reviewer=user,
                printed_name=_printed_name(user),
                decision=decision,
                meaning=meaning,
                comment=comment,
                signed_at=timezone.now(),
                signed_hashes=hashes,
                auth_method=auth_method,
            )
    except IntegrityError:
        raise Conflict("You have already signed this promotion.") from None


def _check_signable(p: Promotion, user: AbstractUser, *, action: str) -> None:
    if not states.allowed(action, p.state):
        raise Conflict(f"The promotion is {p.state.replace('_', ' ')}, not awaiting approval.")
    if Approval.objects.filter(promotion=p, reviewer=user, superseded_at__isnull=True).exists():
        raise Conflict("You have already decided on this promotion.")
    problem = eligibility_problem(p, user)
    if problem:
        raise NotAllowed(problem)


def _validate_signature_input(meaning: str | None, comment: str | None) -> tuple[str, str]:
    meaning = meaning or Approval.Meaning.APPROVAL
    if meaning not in Approval.Meaning.values:
        raise InvalidInput(
            f"meaning must be one of {', '.join(Approval.Meaning.values)}.", meaning=["Not a valid meaning."]
        )
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("The comment is too long (10,000 characters at most).")
    return meaning, comment


def _signature_data(a: Approval) -> dict:
    """What the audit chain records of one electronic signature."""
    return {
        "decision": a.decision,
        "printed_name": a.printed_name,
        "meaning": a.meaning,
        "comment": a.comment,
        "signed_at": a.signed_at.isoformat(),
        "signed_hashes": a.signed_hashes,
        "auth_method": a.auth_method,
    }


@contextmanager
def _signing_attempt(
    *, promotion_id: int, user: AbstractUser, decision: str, client_ip: str | None
) -> Iterator[None]:
    """A failed (wrong password) or refused signing attempt is an audit event (21 CFR 11.300(d)), committed on
    its own: the attempt's transaction has rolled back."""
    try:
        yield
    except NotFound:
        raise
    except DomainError as exc:
        failed = isinstance(exc, signing.WrongPassword)
        p = Promotion.objects.select_related("model", "version").filter(pk=promotion_id).first()
        with transaction.atomic():
            audit_event(
                actor=user,
                action="signature.failed" if failed else "signature.refused",
                promotion=p,
                object_id=promotion_id,
                data={"decision": decision, "reason": str(exc), "status": exc.status, "client_ip": client_ip},
            )
        raise


@contextmanager
def _signed(  # positional on purpose: the two decisions call it on one line
    promotion_id: int,
    user: AbstractUser,
    decision: str,
    password: str | None,
    client_ip: str | None,
    meaning: str,
    comment: str,
    provider_auth: signing.ProviderAuthentication | None = None,
) -> Iterator[tuple[Promotion, Approval]]:
    """Sign a decision: yields the locked promotion and the new signature, inside the transaction."""
    with _signing_attempt(promotion_id=promotion_id, user=user, decision=str(decision), client_ip=client_ip):
        # What does not depend on the password is refused first, so a wrong and a right password get the same
        # answer there; the password is checked outside the row lock (hashing takes a while).
        _check_signable(read(promotion_id), user, action=decision)
        auth_method = signing.reauthenticate(user, password, client_ip=client_ip, provider_auth=provider_auth)
        with transaction.atomic():
            p = lock(promotion_id)
            _check_signable(p, user, action=decision)
            a = _sign(
                p,
                user,
                decision=decision,
                meaning=meaning,
                comment=comment,
                auth_method=auth_method,
            )
            yield p, a


def approval_grant(
    *,
    promotion_id: int,
    user: AbstractUser,
    password: str | None = None,
    meaning: str | None = None,
    comment: str | None = None,
    client_ip: str | None = None,
    provider_auth: signing.ProviderAuthentication | None = None,
) -> Promotion:
    """Sign an approval (`provider_auth`: a fresh authentication at the identity provider instead of a password); the signature that reaches the quorum approves the promotion (and queues its apply)."""
    meaning, comment = _validate_signature_input(meaning, comment)
    with _signed(
        promotion_id, user, DECISION.APPROVE, password, client_ip, meaning, comment, provider_auth
    ) as (
        p,
        a,
    ):
        count = approve_count(p)
        audit_event(
            actor=user,
            action="promotion.signed",
            promotion=p,
            data={**_signature_data(a), "approvals": count, "required": p.required_approvals},
        )
        if count >= p.required_approvals:
            mark_approved(p, actor=user)
    return p


def approval_reject(
    *,
    promotion_id: int,
    user: AbstractUser,
    password: str | None = None,
    comment: str | None = None,
    meaning: str | None = None,
    client_ip: str | None = None,
    provider_auth: signing.ProviderAuthentication | None = None,
) -> Promotion:
    """Sign a rejection: the promotion ends `rejected`."""
    meaning, comment = _validate_signature_input(meaning or Approval.Meaning.REVIEW, comment)
    with _signed(
        promotion_id, user, DECISION.REJECT, password, client_ip, meaning, comment, provider_auth
    ) as (
        p,
        a,
    ):
        audit_event(actor=user, action="promotion.signed", promotion=p, data=_signature_data(a))
        set_state(
            p,
            S.REJECTED,
            actor=user,
            action="promotion.rejected",
            decided_at=timezone.now(),
            data={"comment": comment},
        )
        queue.notify("decided", p.pk)
    return p
