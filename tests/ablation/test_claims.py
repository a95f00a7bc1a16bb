"""The claims' definition, their experiments and their verdicts (pure: no DVC run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.ablation.claims import (
    HELD,
    NOT_APPLICABLE,
    NOT_HELD,
    ROWS,
    UNKNOWN,
    CellOutcome,
    Evidence,
    claims_csv,
    claims_markdown,
    judge,
    load_claims,
    parse_claims,
    plan_experiments,
)
from components.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
LINK = "http://127.0.0.1:5000/#/experiments/1/runs/"


def _config(**claim):  # noqa: ANN003, ANN202
    body = {"name": "c", "claim": "a beats b", "left": "a/motion.top1", "op": ">",
            "right": ["b/motion.top1"], **claim}
    return parse_claims({"cells": {"a": {"set": {}}, "b": {"set": {"represent.mei.method":
                                                                   "equal"}}},
                         "claims": [body]})


def _cell(name: str, top1: float | None, *, lighting: str = "dark", inputs: str = "",
          ok: bool = True) -> CellOutcome:
    rows = {} if top1 is None else {"motion": {"top1": Evidence(top1, LINK + name, inputs)}}
    return CellOutcome(name, f"claim-{name}", ok=ok, error="" if ok else "boom", rows=rows,
                       lighting=lighting)


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
        _config(**change)


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


def test_verdicts_held_not_held_and_unknown() -> None:
    config = _config()
    claim = config.claims[0]
    assert judge(claim, {"a": _cell("a", 0.9), "b": _cell("b", 0.8)}).status == HELD
    tie = judge(claim, {"a": _cell("a", 0.8), "b": _cell("b", 0.8)})
    assert tie.status == NOT_HELD and tie.margin == 0.0  # ">" is strict
    assert judge(_config(op=">=").claims[0],
                 {"a": _cell("a", 0.8), "b": _cell("b", 0.8)}).status == HELD
    failed = judge(claim, {"a": _cell("a", 0.9), "b": _cell("b", None, ok=False)})
    assert failed.status == UNKNOWN and "b failed" in failed.why
    assert judge(claim, {"a": _cell("a", 0.9)}).status == UNKNOWN
    assert judge(claim, {"a": _cell("a", 0.9), "b": _cell("b", None)}).status == UNKNOWN


def test_the_right_side_is_the_best_of_its_numbers() -> None:
    config = parse_claims({"cells": {"a": {}}, "claims": [
        {"name": "fusion", "left": "a/two_stream.top1", "op": ">=",
         "right": ["a/normal.top1", "a/motion.top1"]}]})
    cell = CellOutcome("a", "claim-a", rows={"two_stream": {"top1": Evidence(0.9)},
                                             "normal": {"top1": Evidence(0.3)},
                                             "motion": {"top1": Evidence(0.95, LINK + "m")}})
    verdict = judge(config.claims[0], {"a": cell})
    assert verdict.status == NOT_HELD and verdict.right_ref.row == "motion"
    assert verdict.margin == pytest.approx(-0.05)


def test_another_lighting_or_input_makes_a_claim_not_applicable() -> None:
    claim = _config(lighting="dark", inputs={"left": "gamma", "right": "frames"}).claims[0]
    good = {"a": _cell("a", 0.9, inputs="gamma"), "b": _cell("b", 0.5, inputs="frames")}
    assert judge(claim, good).status == HELD
    daylight = {"a": _cell("a", 0.9, lighting="daylight", inputs="gamma"),
                "b": _cell("b", 0.5, inputs="frames")}
    verdict = judge(claim, daylight)
    assert verdict.status == NOT_APPLICABLE and "a: daylight" in verdict.why
    flow = {"a": _cell("a", 0.9, inputs="flow"), "b": _cell("b", 0.5, inputs="frames")}
    verdict = judge(claim, flow)
    assert verdict.status == NOT_APPLICABLE and "a read flow" in verdict.why


def test_the_table_links_every_number_and_lists_the_experiments() -> None:
    config = _config()
    cells = {"a": _cell("a", 0.9, inputs="mei"), "b": _cell("b", 0.875)}
    verdicts = [judge(config.claims[0], cells)]
    markdown = claims_markdown(verdicts, cells, config, dataset="ucf101-synthetic/split1")
    assert "1 of 1 testable claim(s) held" in markdown
    line = next(x for x in markdown.splitlines() if x.startswith("| a beats b"))
    assert f"[90.0]({LINK}a) (a: motion, mei)" in line and f"[87.5]({LINK}b)" in line
    assert "+2.5" in line and "**held**" in line
    assert "`represent.mei.method=equal`" in markdown and "`claim-b`" in markdown
    rows = claims_csv(verdicts, cells).splitlines()
    assert rows[1].startswith("c,a beats b,,held,") and "claim-a claim-b" in rows[1]
