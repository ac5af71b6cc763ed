"""mirror.holders: the one answer to "which version holds this target" (and its bulk form)."""

import pytest

from mirror import holders
from mirror.models import ModelVersion, RegisteredModel
from tests.support.governance import seed_model

pytestmark = pytest.mark.django_db


def seeded(name, versions, **kwargs) -> RegisteredModel:
    return RegisteredModel.objects.get(name=seed_model(name, versions, **kwargs))


def test_an_alias_is_held_by_the_version_it_points_at():
    model = seeded("fraud", (1, 2), aliases={"production": 1})
    assert holders.holder(model, {"alias": "production"}) == 1
    assert holders.holder(model, {"alias": "staging"}) is None


def test_a_stage_is_held_by_its_highest_live_version_when_several_share_it():
    model = seeded("churn", (1, 2, 3))
    ModelVersion.objects.filter(model=model, version__in=(1, 2)).update(stage="Production")
    assert holders.holder(model, {"stage": "Production"}) == 2
    assert holders.holder(model, {"stage": "Staging"}) is None


def test_the_bulk_form_gives_the_same_answers_as_one_at_a_time():
    churn = seeded("churn", (1, 2, 3), aliases={"production": 2})
    ModelVersion.objects.filter(model=churn, version__in=(1, 3)).update(stage="Production")
    pairs = [
        (churn, {"stage": "Production"}),
        (churn, {"alias": "production"}),
        (churn, {"alias": "staging"}),
        (churn, {"stage": "Staging"}),
    ]
    found = holders.holders(pairs)
    assert [found[holders.key(m, t)] for m, t in pairs] == [holders.holder(m, t) for m, t in pairs]
    assert [found[holders.key(m, t)] for m, t in pairs] == [3, 2, None, None]
