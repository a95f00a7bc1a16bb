"""The claims judged and reported: each claim's verdict from the cells' numbers, as
Markdown and CSV (``har claims``).

A claim (:mod:`components.ablation.claims`) is *held* when ``left op max(right)``
on the numbers its cells' experiments produced. A claim that requires the dataset's
lighting (``lighting: dark``) or the inputs the models read (``inputs: {left: gamma,
right: frames}``) is otherwise *not applicable*, not false; one whose cell failed or
whose number is missing is *unknown*.

Pure: no DVC, no MLflow. ``flows/claims.py`` runs the cells.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from components.ablation.claims import ClaimsConfig, ClaimSpec, Ref
from components.ablation.config import override_value

HELD, NOT_HELD, NOT_APPLICABLE, UNKNOWN = "held", "not held", "n/a", "unknown"


@dataclass(frozen=True)
class Evidence:
    """One number as an experiment produced it."""

    value: float | None
    link: str = ""        # MLflow run behind it
    inputs: str = ""      # what the model read (model.json's ``input``), e.g. "gamma"


@dataclass(frozen=True)
class CellOutcome:
    """What one cell's experiment produced for the rows the claims read."""

    name: str
    experiment: str
    ok: bool = True
    error: str = ""
    rows: Mapping[str, Mapping[str, Evidence]] = field(default_factory=dict)  # row -> metric
    lighting: str | None = None
    dataset: str = ""
    exp_rev: str = ""
    stages_run: tuple[str, ...] = ()
    seconds: float = 0.0

    def evidence(self, ref: Ref) -> Evidence:
        return (self.rows.get(ref.row) or {}).get(ref.metric) or Evidence(None)


@dataclass(frozen=True)
class Verdict:
    """A claim judged: ``status`` is held, not held, n/a or unknown (with ``why``)."""

    claim: ClaimSpec
    status: str
    left: Evidence
    right: Evidence         # the best of the right-hand side
    right_ref: Ref
    why: str = ""

    @property
    def margin(self) -> float | None:
        if self.left.value is None or self.right.value is None:
            return None
        return self.left.value - self.right.value


def judge(claim: ClaimSpec, cells: Mapping[str, CellOutcome]) -> Verdict:
    """Held when ``left op max(right)``; n/a under another lighting; unknown when a
    cell failed or a number is missing."""
    failed = [c for c in {r.cell for r in claim.refs} if c in cells and not cells[c].ok]
    missing = [c for c in {r.cell for r in claim.refs} if c not in cells]
    left = cells[claim.left.cell].evidence(claim.left) if claim.left.cell in cells \
        else Evidence(None)
    rights = [(cells[r.cell].evidence(r) if r.cell in cells else Evidence(None), r)
              for r in claim.right]
    best, best_ref = max(rights, key=lambda er: -math.inf if er[0].value is None
                         else er[0].value)

    def verdict(status: str, why: str = "") -> Verdict:
        return Verdict(claim, status, left, best, best_ref, why)

    if missing or failed:
        names = sorted(missing + failed)
        return verdict(UNKNOWN, f"cell(s) {', '.join(names)} "
                                f"{'failed' if failed else 'not run'}")
    if claim.lighting:
        lights = {c: cells[c].lighting for c in {r.cell for r in claim.refs}}
        other = {c: lit for c, lit in lights.items() if lit != claim.lighting}
        if other:
            seen = ", ".join(f"{c}: {lit or 'not recorded'}" for c, lit in sorted(other.items()))
            return verdict(NOT_APPLICABLE, f"needs {claim.lighting} video ({seen})")
    sides = {"left": [(left, claim.left)], "right": rights}
    for side, expected in claim.inputs.items():
        wrong = [f"{ref.cell} read {e.inputs or 'not recorded'}" for e, ref in sides[side]
                 if e.inputs != expected]
        if wrong:
            return verdict(NOT_APPLICABLE, f"{side} needs {expected} input ({', '.join(wrong)})")
    if left.value is None or any(e.value is None for e, _ in rights):
        return verdict(UNKNOWN, "a number is missing from the experiment's metrics")
    assert best.value is not None
    held = left.value > best.value if claim.op == ">" else left.value >= best.value
    return verdict(HELD if held else NOT_HELD)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _linked(text: str, link: str) -> str:
    return f"[{text}]({link})" if link else text


def _side(ref: Ref, evidence: Evidence) -> str:
    inputs = f", {evidence.inputs}" if evidence.inputs else ""
    row = ref.row if ref.metric == "top1" else f"{ref.row} {ref.metric}"
    return f"{_linked(_pct(evidence.value), evidence.link)} ({ref.cell}: {row}{inputs})"


def claims_markdown(verdicts: Sequence[Verdict], cells: Mapping[str, CellOutcome],
                    config: ClaimsConfig, *, dataset: str = "") -> str:
    """The claims table (one line per claim, numbers linked to their MLflow runs),
    then the cells: their overrides, experiment and the stages they ran."""
    held = sum(v.status == HELD for v in verdicts)
    judged = sum(v.status in (HELD, NOT_HELD) for v in verdicts)
    lines = [f"# The papers' claims on this dataset{f' ({dataset})' if dataset else ''}", "",
             f"{held} of {judged} testable claim(s) held. Numbers are test-split top-1 (%) "
             "unless the claim says otherwise; each links to the MLflow run behind it.", "",
             "| claim | paper | measured | margin (points) | verdict |",
             "|---|---|---|---:|---|"]
    for v in verdicts:
        op = v.claim.op
        right = " / ".join(str(r) for r in v.claim.right)
        measured = f"{_side(v.claim.left, v.left)} {op} {_side(v.right_ref, v.right)}"
        if len(v.claim.right) > 1:
            measured += f" (best of {right})"
        margin = "" if v.margin is None else f"{100 * v.margin:+.1f}"
        status = f"**{v.status}**" + (f": {v.why}" if v.why else "")
        lines.append(f"| {v.claim.claim} | {v.claim.source} | {measured} | {margin} | {status} |")
    lines += ["", "| cell | configuration | experiment | ran | seconds |", "|---|---|---|---|---:|"]
    for name, outcome in cells.items():
        spec = config.cells[name]
        shown = " ".join(f"`{k}={override_value(v)}`" for k, v in spec.overrides.items()) \
            or "as configured"
        state = ", ".join(outcome.stages_run) or "nothing (cached)"
        if not outcome.ok:
            state = f"**failed**: {' '.join(outcome.error.split())[:240]}"
        lines.append(f"| {spec.label} | {shown} | `{outcome.experiment}` | {state} | "
                     f"{outcome.seconds:.0f} |")
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("claim", "statement", "source", "verdict", "why", "op", "left", "left_value",
              "left_run", "left_input", "right", "right_value", "right_run", "right_input",
              "margin", "experiments")


def claims_csv(verdicts: Sequence[Verdict], cells: Mapping[str, CellOutcome]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for v in verdicts:
        experiments = sorted({cells[r.cell].experiment for r in v.claim.refs if r.cell in cells})
        writer.writerow({
            "claim": v.claim.name, "statement": v.claim.claim, "source": v.claim.source,
            "verdict": v.status, "why": v.why, "op": v.claim.op,
            "left": str(v.claim.left), "left_value": "" if v.left.value is None
            else f"{v.left.value:.6f}", "left_run": v.left.link, "left_input": v.left.inputs,
            "right": str(v.right_ref), "right_value": "" if v.right.value is None
            else f"{v.right.value:.6f}", "right_run": v.right.link,
            "right_input": v.right.inputs,
            "margin": "" if v.margin is None else f"{v.margin:.6f}",
            "experiments": " ".join(experiments)})
    return buffer.getvalue()
