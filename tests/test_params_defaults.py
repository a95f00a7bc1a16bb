"""params.yaml and the dataclasses its sections become agree on every default.

A section with a dataclass of its own (``represent:`` and its kinds, ``train:``, ...)
built from params.yaml must equal the dataclass built from nothing: a value left out
of a params file (a test's, a user's) then means what the repository's params.yaml
says, and a reader of the dataclass sees the value the pipeline runs with.

The job sections (``train_teacher:`` ...) share their dataclasses (``train_normal``
and ``train_motion`` are both :class:`~components.jobs.config.StreamConfig`), and each
picks its own epochs, rates and augmentations: their defaults are generic demo values
(:mod:`components.jobs.config`); only the frame size, which every job shares with
``represent:``, is checked.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import as_plain, from_mapping
from components.data.synthetic import SynthConfig
from components.jobs.config import JOBS, config_class, section_name
from components.stages.evaluate import EvaluateConfig
from components.stages.ingest import IngestConfig
from components.stages.represent import RepresentConfig
from components.training.settings import TrainSettings
from components.tuning.config import TuneSettings

PARAMS_FILE = Path(__file__).resolve().parents[1] / "params.yaml"
PARAMS: dict[str, Any] = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))

#: The sections with a dataclass of their own.
OWN_SECTIONS: dict[str, type] = {
    "synth": SynthConfig, "ingest": IngestConfig, "represent": RepresentConfig,
    "train": TrainSettings, "tune": TuneSettings, "evaluate": EvaluateConfig,
}


def _differences(default: Any, built: Any, where: str) -> list[str]:
    """``where.field: default X, params.yaml Y`` for each field that differs, nested
    dataclasses field by field."""
    if dataclasses.is_dataclass(default) and type(default) is type(built):
        return [line for f in dataclasses.fields(default)
                for line in _differences(getattr(default, f.name), getattr(built, f.name),
                                         f"{where}.{f.name}")]
    if as_plain(default) == as_plain(built):
        return []
    return [f"{where}: default {as_plain(default)!r}, params.yaml {as_plain(built)!r}"]


def test_every_section_with_a_dataclass_is_checked() -> None:
    jobs = {section_name(job) for job in JOBS}
    variants = {name for name in PARAMS if any(name.startswith(f"{j}_") for j in jobs)}
    assert set(PARAMS) - jobs - variants == set(OWN_SECTIONS)


@pytest.mark.parametrize("name", sorted(OWN_SECTIONS))
def test_the_dataclass_defaults_are_the_values_of_params_yaml(name: str) -> None:
    cls = OWN_SECTIONS[name]
    built = from_mapping(cls, PARAMS[name], source=PARAMS_FILE, where=name)
    assert _differences(cls(), built, name) == []


def test_differences_name_the_nested_key() -> None:
    built = from_mapping(RepresentConfig, {"mei": {"interval": 7}, "height": 48})
    assert _differences(RepresentConfig(), built, "represent") == [
        "represent.height: default 32, params.yaml 48",
        "represent.mei.interval: default 2, params.yaml 7",
    ]


@pytest.mark.parametrize("job", JOBS)
def test_a_jobs_default_frame_size_is_the_one_params_yaml_shares_with_represent(
        job: str) -> None:
    section = PARAMS[section_name(job)]
    default = config_class(job)()
    represent = PARAMS["represent"]
    assert (default.height, default.width) == (section["height"], section["width"]) \
        == (represent["height"], represent["width"])
