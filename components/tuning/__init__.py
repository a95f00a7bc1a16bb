"""Ray Tune sweeps: ``har tune`` searches LIFT-Net's N, trainable ViT blocks and lr.

* :mod:`~components.tuning.config`: ``TuneSettings`` (params.yaml ``tune:``).
* :mod:`~components.tuning.sweep`: ``run_sweep`` (Tuner over the training driver,
  ASHA, nested MLflow runs, the best config file).
* :mod:`~components.tuning.sweep_folder`: a sweep's folder and its ``har-sweep.json``
  record (its MLflow run, whether it finished: what resuming reads).
"""

from __future__ import annotations

from components.tuning.config import TuneSettings
from components.tuning.sweep import SweepResult, run_sweep, search_space, trial_request

__all__ = ["SweepResult", "TuneSettings", "run_sweep", "search_space", "trial_request"]
