"""The promotion workflow, one module per step.

requests (promote) and rollback open a promotion; gating runs its gates; signatures and quorum collect the signed
decisions; outbox applies an approved one to MLflow; drift compares MLflow with what was approved; cancel ends one;
holdings records holders seen in MLflow and lets staff adopt one.
Shared pieces sit below them: transitions (row locks, state changes and their audit events), evaluation (gate
rows on the current mirror), hashes (what a signature binds), ledger (target history rows) and queue (Celery and
mail after commit). Which action is allowed in which state is `approvals.states`.

Every service is keyword-only, atomic and raises `common.errors` domain exceptions; every state change appends an
audit event in the same transaction. The row lock (`select_for_update`) on the promotion serialises concurrent
signers, so a quorum produces exactly one `approved` transition and one outbox row.
"""
