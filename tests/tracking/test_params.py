"""Flattening and truncating params; logging them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH

from components.tracking import flatten_params, log_params_flat, training_run
from components.tracking.params import TRUNCATION_MARK, sanitize_key, truncate_value

from ._support import Tracking


@dataclass(frozen=True)
class _Optim:
    name: str = "adamw"
    lr: float = 1e-4


def test_flatten_nested_dicts_and_dataclasses_with_dotted_keys() -> None:
    flat = flatten_params(
        {
            "train": {"optim": _Optim(), "epochs": 3, "augment": ["flip", "jitter"]},
            "data": {"root": Path("data/synthetic"), "extra": {}},
            "seed": None,
        }
    )
    assert flat == {
        "train.optim.name": "adamw",
        "train.optim.lr": "0.0001",
        "train.epochs": "3",
        "train.augment": "[flip, jitter]",
        "data.root": "data/synthetic",
        "data.extra": "{}",
        "seed": "None",
    }


def test_flatten_with_prefix_and_a_dataclass_at_the_top() -> None:
    assert flatten_params({"lr": 0.1}, prefix="teacher") == {"teacher.lr": "0.1"}
    assert flatten_params(_Optim()) == {"name": "adamw", "lr": "0.0001"}


def test_long_values_are_truncated_to_the_mlflow_limit() -> None:
    flat = flatten_params({"classes": "x" * (MAX_PARAM_VAL_LENGTH + 10)})
    assert len(flat["classes"]) == MAX_PARAM_VAL_LENGTH
    assert flat["classes"].endswith(TRUNCATION_MARK)
    assert truncate_value("short") == "short"


def test_long_keys_stay_valid_and_distinct() -> None:
    a = sanitize_key("a." * 200 + "one")
    b = sanitize_key("a." * 200 + "two")
    assert len(a) <= MAX_ENTITY_KEY_LENGTH
    assert a != b
    assert sanitize_key("weird*key?") == "weird_key_"


def test_log_params_flat_reads_back(tracking: Tracking) -> None:
    params = {"model": {"depth": 6, "heads": [4, 8]}, "note": "y" * (MAX_PARAM_VAL_LENGTH * 2)}
    params.update({f"grid.p{i}": i for i in range(150)})  # more than one batch of 100
    with training_run("params", experiment=tracking.experiment) as run:
        logged = log_params_flat(params)
    stored = tracking.client.get_run(run.run_id).data.params
    assert stored == logged
    assert stored["model.depth"] == "6"
    assert stored["model.heads"] == "[4, 8]"
    assert len(stored["note"]) == MAX_PARAM_VAL_LENGTH
    assert stored["grid.p149"] == "149"
