"""Run names and standard tags."""

from __future__ import annotations

from components.tracking import dataset_key, run_name, standard_tags


def test_run_name_is_readable_and_safe() -> None:
    assert run_name("train-teacher", "R(2+1)D-18", "synthetic-dark") == (
        "train-teacher-r_2+1_d-18-synthetic-dark"
    )
    assert run_name("sweep", "lift-net", "arid", "trial 3") == "sweep-lift-net-arid-trial_3"


def test_run_name_renders_extra_mappings_in_key_order() -> None:
    name = run_name("train", "mei", "ucf101", {"lr": 0.001, "bs": 8})
    assert name == "train-mei-ucf101-bs=8,lr=0.001"


def test_standard_tags_leave_out_missing_values() -> None:
    assert standard_tags(job="evaluate", model="mei-resnet50", dataset="synthetic-ir") == {
        "har.job": "evaluate",
        "har.model": "mei-resnet50",
        "har.dataset": "synthetic-ir",
    }
    tags = standard_tags(job="train", model="m", dataset="d", split="split1", stage="train_teacher")
    assert tags["har.split"] == "split1"
    assert tags["har.stage"] == "train_teacher"


def test_dataset_key() -> None:
    assert dataset_key("synthetic-dark", "split1") == "synthetic-dark/split1"
