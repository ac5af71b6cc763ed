"""A property test over request / approve / reject / cancel / apply / MLflow-down (MLflow faked in memory):
never applied without a quorum and passing gates, never applied twice, every change audited."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from approvals.models import Approval, GateResult, OutboxItem, Promotion
from approvals.workflow import cancel, gating, outbox, requests, signatures
from common.errors import DomainError
from mirror import gateway
from tests.support.governance import PASSWORD, FakeGateway, audit_actions, seed_model

APPLIED_OR_AFTER = ("approved", "applying", "applied", "failed")


class PromotionMachine(RuleBasedStateMachine):
    users: dict = {}
    seen_states: set = set()

    promotions = Bundle("promotions")

    def __init__(self):
        super().__init__()
        self.fake = FakeGateway()
        self._saved = {
            fn: getattr(gateway, fn)
            for fn in ("get_model", "set_alias", "transition_stage", "get_version_stage")
        }
        for fn in self._saved:
            setattr(gateway, fn, getattr(self.fake, fn))
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        seed_model(
            "prop",
            (1, 2, 3),
            aliases={"production": 1},
            version_tags={1: {"data_validated": "true"}, 2: {"data_validated": "true"}, 3: {}},
        )
        self.fake.aliases[("prop", "production")] = 1

    def teardown(self):
        for fn, original in self._saved.items():
            setattr(gateway, fn, original)
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @rule(
        target=promotions,
        version=st.sampled_from([1, 2, 3]),
        target_name=st.sampled_from(["staging", "production"]),
        requester=st.sampled_from(["rita", "both"]),
    )
    def request(self, version, target_name, requester):
        try:
            p = requests.promotion_request(
                user=self.users[requester], model_name="prop", version=version, target=target_name
            )
        except DomainError:
            return -1
        gating.run_gates(promotion_id=p.pk)
        return p.pk

    @rule(
        pk=promotions,
        who=st.sampled_from(["ann", "bob", "cid", "rev", "both", "rita"]),
        good_password=st.booleans(),
    )
    def approve(self, pk, who, good_password):
        if pk < 0:
            return
        try:
            signatures.approval_grant(
                promotion_id=pk, user=self.users[who], password=PASSWORD if good_password else "x"
            )
        except DomainError:
            pass

    @rule(pk=promotions)
    def quorum_signs(self, pk):
        """Two eligible approvers sign one after the other (makes the applied path likely to be explored)."""
        if pk < 0:
            return
        for who in ("ann", "bob"):
            try:
                signatures.approval_grant(promotion_id=pk, user=self.users[who], password=PASSWORD)
            except DomainError:
                pass

    @rule(version=st.sampled_from([2, 3]), target_name=st.sampled_from(["staging", "production"]))
    def request_sign_and_apply(self, version, target_name):
        """The whole happy path in one step, so every run explores `applied` (the other rules interleave
        around it); refusals along the way (an open promotion, MLflow down, a lockout) are fine."""
        pk = self.request(version=version, target_name=target_name, requester="rita")
        if pk < 0:
            return
        self.quorum_signs(pk)
        self.apply_pending()

    @rule(pk=promotions, who=st.sampled_from(["ann", "rev", "rita"]))
    def reject(self, pk, who):
        if pk < 0:
            return
        try:
            signatures.approval_reject(promotion_id=pk, user=self.users[who], password=PASSWORD)
        except DomainError:
            pass

    @rule(pk=promotions, who=st.sampled_from(["rita", "both", "stan"]))
    def cancel(self, pk, who):
        if pk < 0:
            return
        try:
            cancel.cancel(promotion_id=pk, user=self.users[who])
        except DomainError:
            pass

    @rule()
    def apply_pending(self):
        from django.utils import timezone

        for item in OutboxItem.objects.filter(done_at__isnull=True).order_by("pk"):
            OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())
            outbox.apply(outbox_id=item.pk)

    @rule(down=st.booleans())
    def mlflow_down(self, down):
        self.fake.down = down

    @rule(reject=st.booleans())
    def mlflow_refuses(self, reject):
        self.fake.reject = reject

    # --- invariants ------------------------------------------------------------------------------
    @invariant()
    def never_applied_without_quorum_and_passing_gates(self):
        PromotionMachine.seen_states |= set(Promotion.objects.values_list("state", flat=True))
        for p in Promotion.objects.filter(state__in=APPLIED_OR_AFTER):
            approvals = Approval.objects.filter(promotion=p)
            assert approvals.filter(decision="approve").count() >= p.required_approvals
            assert not approvals.filter(decision="reject").exists()
            statuses = set(GateResult.objects.filter(promotion=p).values_list("status", flat=True))
            assert statuses <= {"passed", "skipped"}
            assert p.requested_by_id not in set(approvals.values_list("reviewer_id", flat=True))

    @invariant()
    def never_applied_twice(self):

        for p in Promotion.objects.all():
            applied = audit_actions(object_id=p.pk).count("promotion.applied")
            assert applied == (1 if p.state == "applied" else 0)
            assert OutboxItem.objects.filter(promotion=p, kind="apply").count() <= 1
        writes = [w for w in self.fake.writes if w[0] == "alias"]
        applied_count = Promotion.objects.filter(state="applied").count()
        assert (
            len(writes) <= applied_count + Promotion.objects.filter(state__in=("applying", "failed")).count()
        )

    @invariant()
    def every_change_audited(self):
        from audit.models import AuditEvent

        for p in Promotion.objects.all():
            last = (
                AuditEvent.objects.filter(object_type="promotion", object_id=str(p.pk))
                .exclude(
                    action__in=[
                        "promotion.signed",
                        "outbox.enqueued",
                        "promotion.apply_retrying",
                        "promotion.gates_evaluated",
                        "promotion.apply_retry_requested",
                    ]
                )
                .order_by("-seq")
                .first()
            )
            assert last is not None
            assert last.data["state"] == p.state, (last.action, last.data, p.state)
            signed = audit_actions(object_id=p.pk).count("promotion.signed")
            assert signed == Approval.objects.filter(promotion=p).count()

    @invariant()
    def mlflow_matches_the_last_applied_promotion(self):
        last = Promotion.objects.filter(state="applied", target="production").order_by("-applied_at").first()
        if last is not None:
            assert self.fake.aliases[("prop", "production")] == last.version.version


@pytest.mark.django_db
def test_promotion_workflow_state_machine(policy_file, make_user, settings_fast_hash):
    PromotionMachine.users = {
        "rita": make_user("rita", "ml-engineers"),
        "both": make_user("both", "ml-engineers", "approvers"),
        "ann": make_user("ann", "approvers"),
        "bob": make_user("bob", "approvers"),
        "cid": make_user("cid", "approvers"),
        "rev": make_user("rev", "reviewers"),
        "stan": make_user("stan", staff=True),
    }
    PromotionMachine.seen_states = set()
    machine = PromotionMachine.TestCase
    # derandomize: the same exploration every run, so whether it reaches the interesting states is not luck
    machine.settings = settings(
        derandomize=True,
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine().runTest()
    # the exploration reached the interesting states, not only requests bouncing off errors
    assert {"applied", "rejected", "cancelled", "awaiting_approval"} <= PromotionMachine.seen_states, (
        PromotionMachine.seen_states
    )


@pytest.fixture
def settings_fast_hash(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
