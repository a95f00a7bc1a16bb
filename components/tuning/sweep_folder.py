"""A sweep's folder and its record: where Tune keeps a sweep, and ``har-sweep.json``,
which names the sweep's MLflow run and says whether it finished, so that a sweep run
again after a kill, with the same inputs, continues in the same MLflow run
(:func:`components.tuning.sweep.run_sweep`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from components._atomic import write_text_atomic
from components._json import read_json
from components.errors import InputError

log = logging.getLogger(__name__)

#: In a sweep's folder: its MLflow run and whether it finished (see the module docstring).
SWEEP_RECORD = "har-sweep.json"


def unfinished_sweep_run(experiment_dir: Path) -> str | None:
    """The MLflow run of the sweep in ``experiment_dir`` when Tune can continue it
    (it was started and never finished), else None."""
    from ray import tune

    record = experiment_dir / SWEEP_RECORD
    if not record.is_file():
        return None
    try:
        data = read_json(record)
    except InputError:
        log.warning("%s is unreadable: starting the sweep afresh", record)
        return None
    if data.get("finished") or not tune.Tuner.can_restore(str(experiment_dir)):
        return None
    return data.get("mlflow_run_id") or None


def write_record(experiment_dir: Path, run_id: str, *, finished: bool) -> None:
    """Record the sweep's MLflow run in ``experiment_dir`` and whether it finished."""
    write_text_atomic(experiment_dir / SWEEP_RECORD,
                      json.dumps({"mlflow_run_id": run_id, "finished": finished}) + "\n")


@dataclass(frozen=True)
class SweepFolder:
    """Where Tune keeps a sweep: ``storage`` (a URI or an absolute path) and ``name``.

    Attributes:
        storage: Tune's storage path, absolute when local.
        name: the sweep's folder name in it (``sweep-<fingerprint>``).
        local: the sweep's folder when storage is local, None for a remote URI (its
            record, and so resuming, needs a local folder).
    """

    storage: str
    name: str
    local: Path | None

    @classmethod
    def of(cls, storage_path: str, root: Path, fingerprint: str) -> SweepFolder:
        """The folder of the sweep with ``fingerprint``, relative paths under ``root``."""
        storage = storage_path
        remote = "://" in storage
        if not remote and not Path(storage).is_absolute():
            storage = str((root / storage).resolve())
        name = f"sweep-{fingerprint}"
        return cls(storage=storage, name=name, local=None if remote else Path(storage) / name)


def resumable_run(folder: SweepFolder) -> str | None:
    """The MLflow run of the unfinished sweep in ``folder`` that can be continued, if any."""
    from components.tracking.resume import run_is_usable

    run_id = unfinished_sweep_run(folder.local) if folder.local else None
    if run_id and not run_is_usable(run_id):
        log.warning("the MLflow run %s of sweep %s is gone: starting afresh", run_id, folder.name)
        return None
    return run_id
