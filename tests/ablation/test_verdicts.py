"""The claims' verdicts and their report (pure: no DVC run)."""

from __future__ import annotations

import pytest

from components.ablation.claims import parse_claims
from components.ablation.verdicts import (
    HELD,
    NOT_APPLICABLE,
    NOT_HELD,
    UNKNOWN,
    CellOutcome,
    Evidence,
    claims_csv,
    claims_markdown,
    judge,
)
from tests.ablation._claims import two_cell_config

LINK = "http://127.0.0.1:5000/#/experiments/1/runs/"



def _cell(name: str, top1: float | None, *, lighting: str = "dark", inputs: str = "",
          ok: bool = True) -> CellOutcome:
    rows = {} if top1 is None else {"motion": {"top1": Evidence(top1, LINK + name, inputs)}}
    return CellOutcome(name, f"claim-{name}", ok=ok, error="" if ok else "boom", rows=rows,
                       lighting=lighting)


def test_verdicts_held_not_held_and_unknown() -> None:
    config = two_cell_config()
    claim = config.claims[0]
    assert judge(claim, {"a": _cell("a", 0.9), "b": _cell("b", 0.8)}).status == HELD
    tie = judge(claim, {"a": _cell("a", 0.8), "b": _cell("b", 0.8)})
    assert tie.status == NOT_HELD and tie.margin == 0.0  # ">" is strict
    assert judge(two_cell_config(op=">=").claims[0],
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
    claim = two_cell_config(lighting="dark", inputs={"left": "gamma", "right": "frames"}).claims[0]
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
    config = two_cell_config()
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
