"""The pipeline's stages in DAG order, and how each runs as a Prefect task.

Orchestration stays thin: a task is ``dvc repro --single-item <stage>``, so DVC
decides whether the stage is up to date, and Prefect adds retries, logs and
run history. Stages that touch many files or external services retry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageSpec:
    """One DVC stage as a Prefect task.

    Attributes:
        name: the stage's name in dvc.yaml (and its ``har`` sub-command).
        target: what ``dvc repro`` is given, when not ``name`` (a stage of
            another dvc.yaml: ``sweeps/dvc.yaml:tune``).
        retries: Prefect retries; I/O-bound stages get some, deterministic
            compute that fails would only fail again.
    """

    name: str
    retries: int = 0
    target: str | None = None

    @property
    def dvc_target(self) -> str:
        return self.target or self.name


# In the order of dvc.yaml's DAG (tests check it is a topological order).
PIPELINE: tuple[StageSpec, ...] = (
    StageSpec("synth", retries=1),
    StageSpec("ingest", retries=2),
    StageSpec("represent_frames", retries=1),
    StageSpec("represent_gamma", retries=1),
    StageSpec("represent_flow", retries=1),
    StageSpec("represent_mei", retries=1),
    StageSpec("represent_rank", retries=1),
    StageSpec("show"),
    StageSpec("train_teacher", retries=1),  # a retry resumes from the latest checkpoint
    StageSpec("train_student", retries=1),
    StageSpec("train_student_nokd", retries=1),
    StageSpec("train_normal", retries=1),
    StageSpec("train_motion", retries=1),
    StageSpec("evaluate", retries=1),  # registers in MLflow: a store hiccup is worth a retry
)

#: The LIFT-Net sweep (sweeps/dvc.yaml), outside the default DAG: the flow runs it
#: after evaluate when asked (``sweep=True``), as ``make demo`` does. No retry: a
#: sweep resumes its own unfinished trials when run again.
SWEEP = StageSpec("tune", target="sweeps/dvc.yaml:tune")


def stage_names() -> list[str]:
    return [s.name for s in PIPELINE]
