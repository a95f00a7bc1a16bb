"""How fast each demo model learns, against what one step of its paper-sized network costs.

    python -m bench.learning [--jobs teacher student normal motion] [--no-paper]
    python -m bench.train --learning [...]     # the same, from bench/train

Run it after ``make demo`` (it reads the demo's shards, ``data/``, and the trained
teacher, ``models/teacher``, that the student distils from). Each job trains in
this process exactly as ``har train`` configures it from params.yaml (the demo
preset; the workers' epochs through :func:`components.training.local.fit_locally`,
no Ray, so no start-up cost is counted) and prints:

* training samples per second (clips for the teacher and LIFT-Net, images for the
  streams);
* the epochs and seconds until its validation top-1 first reached the target
  (90 %, the demo's target; the normal stream has none: a single frame carries
  no class information); the test split is never read;
* the cost of one training step at batch 2 of the job's network at the demo's
  size and at the paper preset's size (``conf/models.yaml``), and their ratio:
  what moving the same job to the paper's sizes costs per clip on this machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

TARGET = 0.9
JOBS = ("teacher", "student", "normal", "motion")


def _request(job: str, root: Path) -> Any:
    import dataclasses

    from components.stages.train import build_request, configure

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["--job", job])
    request = build_request(args, root)
    return dataclasses.replace(request, outputs=None, register=False)


def learn(job: str, root: Path) -> dict[str, float]:
    """Train ``job`` as configured; samples/s and when validation reached the target."""
    from components.training.driver import prepare_training
    from components.training.local import fit_locally

    prepared = prepare_training(_request(job, root), total_cpus=os.cpu_count() or 1)
    started = time.perf_counter()
    reached: dict[str, float] = {}
    rates: list[float] = []

    def on_epoch(record: dict[str, float]) -> None:
        rates.append(record["train/samples_per_s"])
        if not reached and record.get("val/top1", 0.0) >= TARGET:
            reached.update(epoch=record["epoch"], seconds=time.perf_counter() - started)

    session = fit_locally(prepared.plan, on_epoch=on_epoch)
    best = session.history[session.best_epoch - 1]
    return {"samples_per_s": sum(rates) / len(rates), "epochs": float(len(session.history)),
            "seconds": time.perf_counter() - started, "best_val": best.get("val/top1", 0.0),
            "target_epoch": reached.get("epoch", float("nan")),
            "target_seconds": reached.get("seconds", float("nan"))}


def step_seconds(model: Any, inputs: list[list[int]], repeats: int = 2) -> float:
    """Best wall-clock seconds of one AdamW training step at batch 2 (BatchNorm needs two)."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    batch = [torch.randn(2, *shape) for shape in inputs]  # 2: BatchNorm needs > 1 sample
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        out = model(*batch)
        logits = out[0] if isinstance(out, tuple) else out
        logits.float().logsumexp(1).mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        best = min(best, (time.perf_counter() - started) / 2)
    return best


def step_costs(job: str, root: Path) -> tuple[float, float, str]:
    """(demo step seconds, paper step seconds, paper input) of ``job``'s network."""
    from components.config import load_params
    from components.models import create_model
    from components.models.presets import load_models_config
    from components.stages.models import job_inputs

    config = load_models_config(root / "conf" / "models.yaml")
    params = load_params(root / "params.yaml")
    section = params[f"train_{job}"]
    demo = config.presets[params["train"]["preset"]]
    teacher_width = demo.networks.get(demo.jobs["teacher"], {}).get("width")
    inputs, extra = job_inputs(job, section, teacher_width)
    demo_model = create_model(demo.jobs[job], num_classes=4,
                              **demo.kwargs_of(demo.jobs[job], extra))
    paper = config.presets["paper"]
    paper_section = {"height": 224, "width": 224, "clip_len": 30, "input": section.get("input")}
    paper_inputs, paper_extra = job_inputs(job, paper_section)
    if job == "student":
        paper_extra.pop("luminous_width", None)
    paper_model = create_model(paper.jobs[job], num_classes=101,
                               **paper.kwargs_of(paper.jobs[job], paper_extra))
    shown = " + ".join("x".join(str(d) for d in s) for s in paper_inputs)
    return step_seconds(demo_model, inputs), step_seconds(paper_model, paper_inputs, 1), shown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    parser.add_argument("--no-paper", action="store_true",
                        help="skip the paper-size step (the LIFT-Net step takes about a minute)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """Print one row per job of ``args.jobs`` (see the module docstring)."""
    root = Path.cwd()
    if not (root / "models" / "teacher").is_dir():
        print("bench.learning: skipped, no demo data and teacher here (run `make demo` first)")
        return
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"learning on the demo data, {torch.get_num_threads()} threads; target: validation "
          f"top-1 >= {TARGET:.0%} (video level)")
    header = (f"{'job':<8} {'samples/s':>9} {'epochs':>6} {'seconds':>7} {'best val':>8} "
              f"{'target at epoch':>15} {'target at s':>11} {'demo step s':>11} "
              f"{'paper step s':>12} {'paper/demo':>10}  paper input")
    rows = []
    for job in args.jobs:
        result = learn(job, root)
        demo_step, paper_step, shown = (step_costs(job, root) if not args.no_paper
                                        else (float("nan"), float("nan"), "-"))
        rows.append(f"{job:<8} {result['samples_per_s']:>9.1f} {result['epochs']:>6.0f} "
                    f"{result['seconds']:>7.0f} {result['best_val']:>8.3f} "
                    f"{result['target_epoch']:>15.0f} {result['target_seconds']:>11.0f} "
                    f"{demo_step:>11.3f} {paper_step:>12.2f} {paper_step / demo_step:>10.0f}"
                    f"  {shown}")
        print(rows[-1] if len(rows) > 1 else f"{header}\n{rows[-1]}", flush=True)


if __name__ == "__main__":
    main()
