"""Ablation tables from fake cell results: config, -S arguments, Markdown, CSV, failures."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from components.ablation import (
    CellResult,
    dataset_key,
    failed,
    failure_reason,
    load_config,
    parse_config,
    results_from_csv,
    select,
    set_params,
    table_csv,
    table_markdown,
    table_rows,
)
from components.ablation.config import override_value
from components.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN = "http://127.0.0.1:5000/#/experiments/1/runs/"

CONFIG = {
    "prefix": "ablate",
    "row_titles": {"lift_net_kd": "LIFT-Net", "two_stream": "two-stream"},
    "tables": {
        "lift_net": {
            "title": "LIFT-Net ablations",
            "columns": ["lift_net_kd.top1", "lift_net_kd.mean_class_acc", "teacher.top1"],
            "cells": [
                {"name": "baseline", "label": "as configured", "set": {}},
                {"name": "no-kd", "label": "no KD", "set": {"train_student.kd": False}},
                {"name": "depth-6", "label": "N = 6",
                 "set": {"train_student.model_kwargs.depth": 6}},
            ],
        },
        "mei": {
            "title": "MEI ablations",
            "columns": ["normal.top1", "two_stream.top1"],
            "cells": [
                {"name": "baseline", "label": "as configured", "set": {}},
                {"name": "mei-equal", "label": "equal | division",
                 "set": {"represent.mei.method": "equal"}},
            ],
        },
    },
}


def metrics(top1: float) -> dict[str, dict[str, float]]:
    row = {"top1": top1, "top5": 1.0, "mean_class_acc": top1 - 0.05, "videos": 4}
    return {name: dict(row) for name in ("teacher", "lift_net_kd", "normal", "motion",
                                         "two_stream")}


def ok(name: str, top1: float) -> CellResult:
    links = {"teacher": RUN + "t1", "lift_net_kd": RUN + f"s-{name}",
             "normal": RUN + f"n-{name}", "motion": RUN + f"m-{name}",
             "two_stream": RUN + f"e-{name}"}
    return CellResult(name, f"ablate-{name}", metrics=metrics(top1), run_links=links,
                      evaluate_link=RUN + f"e-{name}", exp_rev="abc123",
                      dataset="ucf101-synthetic/split1", stages_run=("train_student",),
                      seconds=90.0)


@pytest.fixture
def config():
    return parse_config(CONFIG)


def test_shipped_config_has_both_tables_and_the_issue_cells():
    config = load_config(REPO_ROOT / "conf/ablations.yaml")
    assert config.targets == ("evaluate",) and config.experiment_name("no-kd") == "ablate-no-kd"
    lift_table = config.tables["lift_net"]
    # Table VI: every ablation is taken from LIFT-Net-8 and compared with it.
    assert lift_table.base == {"train_student.model_kwargs.depth": 8}
    assert lift_table.reference == "lift-net-8"
    full = {"train_student.model_kwargs.depth": 8}
    lift = {c.name: dict(c.overrides) for c in lift_table.cells}
    assert all(v.get("train_student.model_kwargs.depth") in (4, 6, 8) for v in lift.values())
    own = {c.name: dict(c.shown) for c in lift_table.cells}
    mei = {c.name: dict(c.overrides) for c in config.tables["mei"].cells}
    assert lift["lift-net-8"] == full and own["lift-net-8"] == {} and mei["baseline"] == {}
    assert {**full, "train_teacher.model": "r3d_18"} in lift.values()
    assert {**full, "train_teacher.input": "flow", "train_student.input": "flow"} in lift.values()
    assert {**full, "train_student.kd": False} in lift.values()
    blocks = {v.get("train_student.model_kwargs.trainable_vit_blocks") for v in lift.values()}
    assert {0, "all"} <= blocks
    depths = {v.get("train_student.model_kwargs.depth") for v in lift.values()}
    assert {4, 6, 8} <= depths
    assert {"represent.mei.method": "equal"} in mei.values()
    backbones = {v.get("train_normal.model") for v in mei.values()}
    assert {"efficientnet_b0", "densenet201", "mobilenetv2_100", "resnet50", "inception_v3",
            "ensemble"} <= backbones
    for cell in mei.values():  # both streams on the same backbone
        assert cell.get("train_normal.model") == cell.get("train_motion.model")
    assert [c.key for c in config.tables["lift_net"].columns][0] == "lift_net_kd.top1"
    assert {c.row for c in config.tables["mei"].columns} == {"normal", "motion", "two_stream"}


def test_depths_are_what_the_lift_net_builder_takes():
    from components.models.lift_net import resolve_depth

    config = load_config(REPO_ROOT / "conf/ablations.yaml")
    for cell in config.tables["lift_net"].cells:
        if "train_student.model_kwargs.depth" in cell.overrides:
            assert resolve_depth(cell.overrides["train_student.model_kwargs.depth"]) in (4, 6, 8)


def test_select_dedupes_cells_shared_by_tables(config):
    tables, cells = select(config)
    assert [t.name for t in tables] == ["lift_net", "mei"]
    assert [c.name for c in cells] == ["baseline", "no-kd", "depth-6", "mei-equal"]
    tables, cells = select(config, "mei", ["mei-equal"])
    assert [t.name for t in tables] == ["mei"] and [c.name for c in cells] == ["mei-equal"]
    assert [c.name for c in tables[0].cells] == ["mei-equal"]
    with pytest.raises(ValueError, match="unknown table"):
        select(config, "nope")
    with pytest.raises(ValueError, match="unknown cell"):
        select(config, "lift_net", ["mei-equal"])


@pytest.mark.parametrize("bad, match", [
    ({"tables": {}}, "tables"),
    ({"tables": {"t": {"columns": ["two_stream"], "cells": [{"name": "a"}]}}}, "<row>.<metric>"),
    ({"tables": {"t": {"columns": ["x.top1"], "cells": [{"name": "a"}]}}}, "row 'x'"),
    ({"tables": {"t": {"columns": ["normal.acc"], "cells": [{"name": "a"}]}}}, "metric"),
    ({"tables": {"t": {"columns": ["normal.top1"], "cells": [{"name": "Bad Name"}]}}},
     "cell name"),
    ({"tables": {"t": {"columns": ["normal.top1"],
                       "cells": [{"name": "a"}, {"name": "a"}]}}}, "twice"),
    ({"tables": {"t": {"columns": ["normal.top1"], "cells": [{"name": "a", "set": {"x": 1}}]},
                 "u": {"columns": ["normal.top1"], "cells": [{"name": "a", "set": {"x": 2}}]}}},
     "other overrides"),
    ({"tables": {"t": {"columns": ["normal.top1"],
                       "cells": [{"name": "a", "set": {"not a key": 1}}]}}}, "dotted"),
])
def test_bad_configs_are_rejected(bad, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(bad)


def test_set_params_merge_and_quote():
    args = set_params({"ingest": {"root": "/datasets/UCF 101", "split": 1}},
                      {"train_student.kd": False, "train_student.model_kwargs.depth": 6,
                       "train_student.model_kwargs.trainable_vit_blocks": "all",
                       "evaluate.fusion_weights": [2.0, 1.0], "ingest.split": 2})
    assert args == ["ingest.root='/datasets/UCF 101'", "ingest.split=2",
                    "train_student.kd=false", "train_student.model_kwargs.depth=6",
                    "train_student.model_kwargs.trainable_vit_blocks=all",
                    "evaluate.fusion_weights=[2.0,1.0]"]
    # A new key of an open mapping (model_kwargs: {}) is added; any other missing key
    # stays a plain override, which DVC refuses (a typo is an error).
    params = {"ingest": {"root": "x", "split": 1}, "train_student": {"model_kwargs": {}}}
    assert set_params({"ingest.split": 2, "train_student.model_kwargs.depth": 8,
                       "train_student.epochz": 3, "nosuch.key": 1}, params=params) == [
        "ingest.split=2", "++train_student.model_kwargs.depth=8", "train_student.epochz=3",
        "nosuch.key=1"]
    assert override_value("1.5") == "'1.5'"  # a string that would read as a number
    assert override_value("true") == "'true'"
    assert override_value(None) == "null"
    assert override_value("r3d_18") == "r3d_18"


def test_markdown_links_every_number_to_its_run(config):
    spec = config.tables["lift_net"]
    results = {"baseline": ok("baseline", 0.5), "no-kd": ok("no-kd", 0.25),
               "depth-6": ok("depth-6", 0.75)}
    text = table_markdown(spec, results)
    lines = text.splitlines()
    assert lines[0] == "## LIFT-Net ablations on ucf101-synthetic/split1"
    header = next(line for line in lines if line.startswith("| cell"))
    assert "LIFT-Net top-1" in header and "LIFT-Net mean class" in header
    assert "teacher top-1" in header
    no_kd = next(line for line in lines if "`ablate-no-kd`" in line)
    assert f"[25.0]({RUN}s-no-kd)" in no_kd  # lift_net_kd row, labelled by the config
    assert f"[20.0]({RUN}s-no-kd)" in no_kd  # mean class accuracy, same run
    assert f"[25.0]({RUN}t1)" in no_kd  # the teacher's own run
    assert "no KD (`train_student.kd=false`)" in no_kd
    assert f"[evaluate]({RUN}e-no-kd)" in no_kd
    assert "1.5 |" in no_kd  # minutes
    base = next(line for line in lines if "`ablate-baseline`" in line)
    assert "as configured |" in base and "`" not in base.split("|")[2]  # no overrides
    # Same number of columns in every row of the table.
    table = [line for line in lines if line.startswith("|")]
    assert len({line.count(" | ") for line in table if "---" not in line}) == 1


def test_failed_and_missing_cells(config):
    spec = config.tables["lift_net"]
    error = "stage train_student: ValueError: depth must be a positive int, got 'x'"
    results = {"baseline": ok("baseline", 0.5),
               "depth-6": failed("depth-6", "ablate-depth-6", error, seconds=12.0)}
    text = table_markdown(spec, results)
    line = next(line for line in text.splitlines() if "ablate-depth-6" in line)
    assert f"**failed**: {error}" in line
    assert "](http" not in line
    missing = next(line for line in text.splitlines() if line.startswith("| no-kd"))
    assert "not run" in missing
    rows = {r["cell"]: r for r in table_rows(spec, results)}
    assert rows["depth-6"]["status"] == "failed" and rows["depth-6"]["error"] == error
    assert rows["depth-6"]["lift_net_kd.top1"] == "" and rows["depth-6"]["seconds"] == 12.0
    assert rows["no-kd"]["status"] == "not run"
    assert rows["baseline"]["lift_net_kd.top1"] == 0.5


def test_long_failure_reasons_are_cut_in_markdown_not_csv(config):
    spec = config.tables["mei"]
    error = "x" * 1000
    results = {"mei-equal": failed("mei-equal", "ablate-mei-equal", error)}
    line = next(line for line in table_markdown(spec, results).splitlines()
                if "mei-equal" in line)
    assert len(line) < 500 and "…" in line
    rows = list(csv.DictReader(io.StringIO(table_csv(spec, results))))
    assert rows[1]["error"] == error


def test_csv_has_fractions_links_and_status(config):
    spec = config.tables["mei"]
    results = {"baseline": ok("baseline", 0.5), "mei-equal": ok("mei-equal", 0.75)}
    rows = list(csv.DictReader(io.StringIO(table_csv(spec, results))))
    assert [r["cell"] for r in rows] == ["baseline", "mei-equal"]
    equal = rows[1]
    assert equal["table"] == "mei" and equal["status"] == "ok"
    assert equal["overrides"] == "represent.mei.method=equal"
    assert float(equal["normal.top1"]) == 0.75
    assert equal["normal.top1.run"] == RUN + "n-mei-equal"
    assert equal["two_stream.top1.run"] == RUN + "e-mei-equal"
    assert equal["evaluate_run"] == RUN + "e-mei-equal"
    assert equal["experiment"] == "ablate-mei-equal" and equal["stages_run"] == "train_student"
    # A label with a pipe stays one Markdown cell.
    assert "equal \\| division" in table_markdown(spec, results)


def test_dataset_key_matches_evaluate():
    info = {"format": "ucf101", "root": "/data/sets/UCF-101/", "split": 2}
    assert dataset_key(info) == "ucf101-UCF-101/split2"
    assert dataset_key({}) == ""


def test_failure_reason_names_the_stage_and_its_last_words():
    output = "\n".join([
        "Reproducing experiment 'ablate-inception_v3'",
        "Stage 'train_teacher' didn't change, skipping",
        "Running stage 'train_normal':",
        "> har train --job normal",
        "\x1b[36m(RayTrainWorker pid=1)\x1b[0m noise",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "RuntimeError: Calculated padded input size per channel: (1 x 1).",
        "ERROR: failed to reproduce 'train_normal': failed to run: har train --job normal, "
        "exited with 1",
    ])
    assert failure_reason(output) == ("stage train_normal: RuntimeError: Calculated padded "
                                      "input size per channel: (1 x 1).")
    har_error = ("har train: error: params.yaml: unknown parameter(s) train.x\n"
                 "ERROR: failed to reproduce 'train_motion': failed to run: har train, "
                 "exited with 2")
    assert failure_reason(har_error) == ("stage train_motion: har train: error: params.yaml: "
                                         "unknown parameter(s) train.x")
    assert failure_reason("ERROR: Invalid `--set-param` value: Could not override 'x'.") == \
        "Invalid `--set-param` value: Could not override 'x'."
    assert failure_reason("") == "dvc exp run failed"


def test_csv_reads_back_for_the_next_run(config):
    spec = config.tables["lift_net"]
    error = "stage train_student: har train: error: bad"
    results = {"baseline": ok("baseline", 0.5),
               "no-kd": failed("no-kd", "ablate-no-kd", error, seconds=3.0)}
    back = results_from_csv(spec, table_csv(spec, results))
    assert set(back) == {"baseline", "no-kd"}  # depth-6 never ran: not read back
    assert not back["no-kd"].ok and back["no-kd"].error == error
    assert table_markdown(spec, back) == table_markdown(spec, results)


def test_a_table_base_goes_under_every_cell_and_deltas_are_against_the_reference():
    spec = parse_config({"tables": {"t": {
        "title": "from the full model", "columns": ["lift_net_kd.top1"],
        "base": {"train_student.model_kwargs.depth": 8},
        "cells": [{"name": "full", "label": "N = 8", "set": {}},
                  {"name": "no-kd", "label": "no KD", "set": {"train_student.kd": False}},
                  {"name": "small", "label": "N = 4",
                   "set": {"train_student.model_kwargs.depth": 4}}]}}}).tables["t"]
    cells = {c.name: c for c in spec.cells}
    assert spec.reference == "full"
    assert dict(cells["no-kd"].overrides) == {"train_student.model_kwargs.depth": 8,
                                               "train_student.kd": False}
    assert dict(cells["small"].overrides) == {"train_student.model_kwargs.depth": 4}
    text = table_markdown(spec, {"full": ok("full", 0.9), "no-kd": ok("no-kd", 0.8),
                                 "small": ok("small", 0.95)})
    assert "Every cell starts from `train_student.model_kwargs.depth=8`" in text
    assert f"Δ {spec.columns[0].title} vs full" in text
    row = {line.split("|")[1].strip(): line for line in text.splitlines()
           if line.startswith("| `ablate-")}
    assert "| -10.0 |" in row["`ablate-no-kd`"] and "| +5.0 |" in row["`ablate-small`"]
    assert "| — |" in row["`ablate-full`"]
    assert "depth=8" not in row["`ablate-no-kd`"]  # the base is said once, in the heading
    with pytest.raises(ConfigError, match="reference"):
        parse_config({"tables": {"t": {"columns": ["normal.top1"], "reference": "x",
                                       "cells": [{"name": "a", "set": {}}]}}})
