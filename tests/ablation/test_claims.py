"""The claims' definition and their experiments (pure: no DVC run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.ablation.claims import ROWS, load_claims, parse_claims, plan_experiments
from components.errors import ConfigError
from tests.ablation._claims import two_cell_config

REPO = Path(__file__).resolve().parents[2]



def test_the_shipped_claims_read_rows_their_stages_make() -> None:
    config = load_claims(REPO / "conf/claims.yaml")
    assert {c.name for c in config.claims} >= {"gradient-mei", "fusion", "kd", "gamma-on-dark",
                                               "flow-on-daylight", "larger-n"}
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    stages = pipeline["stages"]
    for row, source in ROWS.items():
        stage = stages[source.stage]
        # a DVC metric (so in `dvc exp show --json`) that the stage writes: the stage's
        # own `metrics:`, or an output listed in the top-level `metrics:` (eval first)
        assert source.metrics in stage.get("metrics", []) or (
            source.metrics in stage["outs"] and source.metrics in pipeline["metrics"]), row
        if source.model_dir:
            assert source.model_dir in stage["outs"], row


@pytest.mark.parametrize(("change", "message"), [
    ({"left": "a/motion"}, "not <cell>/<row>.<metric>"),
    ({"left": "a/nosuchrow.top1"}, "row 'nosuchrow'"),
    ({"right": ["zz/motion.top1"]}, "cell 'zz' is not under cells"),
    ({"op": "<"}, "op: '<'"),
    ({"inputs": {"middle": "gamma"}}, "inputs"),
])
def test_a_malformed_claim_is_named(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        two_cell_config(**change)


def test_a_bad_file_names_itself_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text("cells:\n  a: {set: {}\nclaims: []\n")
    with pytest.raises(ConfigError, match=r"claims.yaml.*line \d"):
        load_claims(path)


def test_cells_that_change_nothing_share_one_experiment_of_only_the_stages_read() -> None:
    config = parse_claims({"cells": {
        "base": {"set": {}}, "grad": {"set": {"represent.mei.method": "gradient"}},
        "equal": {"set": {"represent.mei.method": "equal"}}},
        "claims": [
            {"name": "g", "left": "grad/motion.top1", "op": ">", "right": ["equal/motion.top1"]},
            {"name": "f", "left": "base/two_stream.top1", "right": ["base/normal.top1"]}]})
    params = {"represent": {"mei": {"method": "gradient"}}}
    plans = plan_experiments(config, config.claims, params)
    assert [(p.name, p.cells, dict(p.overrides), p.targets) for p in plans] == [
        ("claim-base", ("base", "grad"), {}, ("train_normal", "train_motion", "evaluate")),
        ("claim-equal", ("equal",), {"represent.mei.method": "equal"}, ("train_motion",)),
    ]
