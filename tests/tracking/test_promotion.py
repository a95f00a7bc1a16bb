"""The champion policy: pure decisions, then the alias in a real registry."""

from __future__ import annotations

import math

import pytest

from components.tracking import (
    CHAMPION_ALIAS,
    current_champion,
    decide_promotion,
    promote_if_better,
    training_run,
)
from components.tracking.promotion import DATASET_KEY_TAG, DECISION_TAG, REASON_TAG, metric_tag

from ._support import Tracking

KEY = "synthetic-dark/split1"


@pytest.mark.parametrize(
    ("candidate", "champion", "same", "higher", "promote"),
    [
        (0.5, None, True, True, True),  # no champion yet
        (0.5, None, False, True, True),  # no champion: the dataset does not matter
        (0.6, 0.5, True, True, True),
        (0.4, 0.5, True, True, False),
        (0.5, 0.5, True, True, False),  # tie
        (0.9, 0.5, False, True, False),  # other dataset: not comparable
        (0.3, 0.5, True, False, True),  # lower is better (a loss)
        (0.7, 0.5, True, False, False),
        (0.5, 0.5, True, False, False),
        (math.nan, None, True, True, False),  # NaN never wins
        (math.nan, 0.5, True, True, False),
        (0.1, math.nan, True, True, True),  # anything beats a NaN champion
    ],
)
def test_decide_promotion(
    candidate: float, champion: float | None, same: bool, higher: bool, promote: bool
) -> None:
    decided, reason = decide_promotion(candidate, champion, same, higher)
    assert decided is promote
    assert reason


def test_reasons_say_why() -> None:
    assert decide_promotion(0.5, 0.5, True, True)[1].endswith("tie, champion kept")
    assert "another dataset" in decide_promotion(0.9, 0.5, False, True)[1]
    assert decide_promotion(0.5, None, True, True)[1] == "no champion yet"


def _new_versions(tracking: Tracking, name: str, count: int, run_id: str) -> list[str]:
    """Register ``count`` versions (no model files needed to exercise aliases).

    MLflow 3's ``ModelVersion.version`` is an int; the tracking API speaks strings.
    """
    client = tracking.client
    client.create_registered_model(name)
    return [
        str(
            client.create_model_version(
                name, source=str(tracking.root / f"m{i}"), run_id=run_id
            ).version
        )
        for i in range(count)
    ]


def test_champion_moves_only_on_improvement(tracking: Tracking) -> None:
    client = tracking.client
    name = "har-teacher"
    with training_run("register", experiment=tracking.experiment) as run:
        v1, v2, v3, v4, v5 = _new_versions(tracking, name, 5, run.run_id)
        assert current_champion(name) is None

        first = promote_if_better(
            name, v1, metric_name="val/top1", metric_value=0.5, dataset_key=KEY
        )
        assert first.promoted and first.previous_version is None and first.champion_version == v1

        worse = promote_if_better(
            name, v2, metric_name="val/top1", metric_value=0.4, dataset_key=KEY
        )
        assert not worse.promoted
        assert (worse.previous_version, worse.previous_value) == (v1, 0.5)
        assert current_champion(name) == v1

        better = promote_if_better(
            name, v3, metric_name="val/top1", metric_value=0.7, dataset_key=KEY
        )
        assert better.promoted and better.previous_version == v1
        assert current_champion(name) == v3

        tie = promote_if_better(name, v4, metric_name="val/top1", metric_value=0.7, dataset_key=KEY)
        assert not tie.promoted and "tie" in tie.reason
        assert current_champion(name) == v3

        other = promote_if_better(
            name, v5, metric_name="val/top1", metric_value=0.99, dataset_key="ucf101/split1"
        )
        assert not other.promoted
        assert KEY in other.reason and "not comparable" in other.reason
        assert current_champion(name) == v3

        again = promote_if_better(
            name, v3, metric_name="val/top1", metric_value=0.7, dataset_key=KEY
        )
        assert not again.promoted and "already the champion" in again.reason

    assert str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version) == v3
    tags = client.get_model_version(name, v5).tags
    assert tags[DATASET_KEY_TAG] == "ucf101/split1"
    assert float(tags[metric_tag("val/top1")]) == 0.99
    assert tags[DECISION_TAG] == "kept"
    assert tags[REASON_TAG] == other.reason
    assert client.get_model_version(name, v3).tags[DECISION_TAG] == "kept"  # the last decision
    assert client.get_model_version(name, v1).tags[DECISION_TAG] == "promoted"
    run_tag = client.get_run(run.run_id).data.tags[DECISION_TAG]
    assert run_tag.startswith(f"{name} v{v3}: kept: ")


def test_lower_is_better_and_champion_without_metric(tracking: Tracking) -> None:
    client = tracking.client
    name = "har-motion-stream"
    with training_run("register", experiment=tracking.experiment) as run:
        v1, v2, v3 = _new_versions(tracking, name, 3, run.run_id)
        kw = {"metric_name": "val/loss", "dataset_key": KEY, "higher_is_better": False}
        assert promote_if_better(name, v1, metric_value=0.9, **kw).promoted
        assert promote_if_better(name, v2, metric_value=0.3, **kw).promoted
        # A champion set by hand, with no recorded metric, is not replaced automatically.
        client.set_registered_model_alias(name, CHAMPION_ALIAS, v1)
        client.delete_model_version_tag(name, v1, metric_tag("val/loss"))
        manual = promote_if_better(name, v3, metric_value=0.1, **kw)
    assert not manual.promoted and "no recorded val/loss" in manual.reason
    assert current_champion(name) == v1


def test_current_champion_of_an_unknown_model(tracking: Tracking) -> None:
    assert current_champion("does-not-exist") is None


def test_a_version_from_a_dvc_experiment_is_never_promoted(tracking: Tracking) -> None:
    name = "har-two-stream"
    with training_run("register", experiment=tracking.experiment) as run:
        v1, v2 = _new_versions(tracking, name, 2, run.run_id)
        kw = {"metric_name": "test/top1", "dataset_key": KEY}
        assert promote_if_better(name, v1, metric_value=0.5, **kw).promoted
        ablation = promote_if_better(name, v2, metric_value=0.9,
                                     dvc_experiment="ablate-mei-equal", **kw)
    assert not ablation.promoted and "ablate-mei-equal" in ablation.reason
    assert current_champion(name) == v1
    # It is the challenger: the newest version a person may compare and serve by hand.
    assert str(tracking.client.get_model_version_by_alias(name, "challenger").version) == v2


def test_a_scratch_run_is_a_challenger_never_the_champion(tracking: Tracking) -> None:
    name = "har-teacher"
    with training_run("register", experiment=tracking.experiment) as run:
        v1, v2 = _new_versions(tracking, name, 2, run.run_id)
        kw = {"metric_name": "test/top1", "dataset_key": KEY}
        assert promote_if_better(name, v1, metric_value=0.5, **kw).promoted
        scratch = promote_if_better(name, v2, metric_value=0.99,
                                    candidate_only="a scratch run (--epochs 1)", **kw)
    assert not scratch.promoted and "a scratch run (--epochs 1)" in scratch.reason
    assert current_champion(name) == v1
    assert str(tracking.client.get_model_version_by_alias(name, "challenger").version) == v2


def test_lighting_guard_refuses_a_bucket_that_drops_too_far() -> None:
    from components.tracking.promotion import lighting_guard

    ok = lighting_guard({"dark": 0.70, "bright": 0.90}, {"dark": 0.74, "bright": 0.80}, 5.0)
    assert ok.passed and "2 lighting bucket(s) compared" in ok.reason
    assert {r["bucket"]: r["points"] for r in ok.rows} == {"bright": 10.0, "dark": -4.0}

    bad = lighting_guard({"dark": 0.60, "bright": 0.99}, {"dark": 0.70, "bright": 0.80}, 5.0)
    assert not bad.passed and "dark -10.0" in bad.reason and "bright" not in bad.reason
    # a bucket only one side was scored on, or a NaN, is listed but not compared
    odd = lighting_guard({"dim": 0.1, "dark": math.nan}, {"bright": 0.9, "dark": 0.9}, 5.0)
    assert odd.passed and all(r["points"] is None for r in odd.rows) and len(odd.rows) == 3


def test_champion_stays_when_a_lighting_bucket_drops(tracking: Tracking) -> None:
    import json

    from components.tracking.promotion import GUARD_TAG, TABLE_TAG, lighting_tag

    client, name = tracking.client, "har-two-stream"
    with training_run("register", experiment=tracking.experiment) as run:
        v1, v2, v3 = _new_versions(tracking, name, 3, run.run_id)
        first = promote_if_better(name, v1, metric_name="test/top1", metric_value=0.6,
                                  dataset_key=KEY, lighting={"dark": 0.8, "bright": 0.5},
                                  max_bucket_drop=5.0)
        assert first.promoted
        # better overall, but dark falls 20 points: refused
        worse_dark = promote_if_better(name, v2, metric_name="test/top1", metric_value=0.7,
                                       dataset_key=KEY, lighting={"dark": 0.6, "bright": 0.8},
                                       max_bucket_drop=5.0)
        assert not worse_dark.promoted and "dark -20.0" in worse_dark.reason
        assert current_champion(name) == v1
        fine = promote_if_better(name, v3, metric_name="test/top1", metric_value=0.7,
                                 dataset_key=KEY, lighting={"dark": 0.78, "bright": 0.8},
                                 max_bucket_drop=5.0)
        assert fine.promoted and current_champion(name) == v3
    tags = client.get_model_version(name, v2).tags
    assert float(tags[lighting_tag("dark")]) == 0.6
    assert tags[GUARD_TAG].startswith("failed: ") and tags[DECISION_TAG] == "kept"
    assert {r["bucket"]: r["points"] for r in json.loads(tags[TABLE_TAG])} == {
        "bright": 30.0, "dark": -20.0}
    assert client.get_model_version(name, v3).tags[GUARD_TAG].startswith("passed: ")
