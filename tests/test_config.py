"""from_mapping: params.yaml sections to frozen dataclasses, errors naming the key at fault."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest

from components.config import as_plain, from_mapping
from components.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Inner:
    rate: float = 0.5
    span: tuple[float, float] = (0.1, 0.2)
    pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"rate must be in [0, 1], got {self.rate}")


@dataclasses.dataclass(frozen=True)
class Outer:
    epochs: int = 1
    lr: float = 1e-3
    amp: bool = False
    use_gpu: bool | Literal["auto"] = "auto"
    mode: Literal["max", "min"] = "max"
    root: Path = Path("data")
    lists: Path | None = None
    blocks: tuple[int | str, ...] = ()
    inner: Inner = Inner()
    kwargs: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.epochs == 99:
            raise TypeError("epochs 99 is reserved")


def _error(mapping: dict, where: str = "train") -> str:
    with pytest.raises(ConfigError) as info:
        from_mapping(Outer, mapping, source="params.yaml", where=where)
    assert str(info.value).startswith("params.yaml: ")
    return info.value.reason


def test_yaml_values_become_the_annotated_types() -> None:
    cfg = from_mapping(Outer, {
        "epochs": 3, "lr": 1, "use_gpu": True, "root": "videos", "lists": None,
        "blocks": [2, "all"], "inner": {"span": [0, 1], "pairs": [["L", "R"]]},
        "kwargs": {"depth": [1, 2]},
    })
    assert cfg == Outer(epochs=3, lr=1.0, use_gpu=True, root=Path("videos"), blocks=(2, "all"),
                        inner=Inner(span=(0.0, 1.0), pairs=(("L", "R"),)),
                        kwargs={"depth": [1, 2]})
    assert isinstance(cfg.lr, float) and isinstance(cfg.inner.span[0], float)
    assert from_mapping(Outer, {}) == Outer()  # missing keys take the defaults
    assert from_mapping(Outer, as_plain(cfg)) == cfg  # the params a run records read back


def test_paths_from_command_line_flags_are_taken() -> None:
    assert from_mapping(Outer, {"root": Path("/data/ucf")}).root == Path("/data/ucf")


def test_unknown_keys_are_named_at_every_level() -> None:
    reason = _error({"epoch": 3, "lr": 0.1})
    assert reason.startswith("unknown parameter(s) train.epoch; known: amp, blocks, epochs")
    reason = _error({"inner": {"rte": 0.1, "spam": [0, 1]}})
    assert reason.startswith("unknown parameter(s) train.inner.rte, train.inner.spam; "
                             "known: pairs, rate, span")


@pytest.mark.parametrize(("mapping", "expected"), [
    ({"epochs": "3"}, "train.epochs: expected a valid integer, got '3'"),
    ({"epochs": 3.0}, "train.epochs: expected a valid integer, got 3.0"),
    ({"lr": True}, "train.lr: expected a valid number, got True"),
    ({"amp": 1}, "train.amp: expected a valid boolean, got 1"),
    ({"use_gpu": "yes"}, "train.use_gpu: expected a valid boolean or 'auto', got 'yes'"),
    ({"mode": "best"}, "train.mode: expected 'max' or 'min', got 'best'"),
    ({"root": 5}, "train.root: expected a valid string, got 5"),
    ({"blocks": [1, 2.5]},
     "train.blocks[1]: expected a valid integer or a valid string, got 2.5"),
    ({"blocks": "all"}, "train.blocks: expected a list, got 'all'"),
    ({"inner": [0.5]}, "train.inner: expected a mapping, got [0.5]"),
    ({"inner": {"pairs": [["L", 1]]}},
     "train.inner.pairs[0][1]: expected a valid string, got 1"),
])
def test_wrong_types_are_refused_naming_the_key(mapping: dict, expected: str) -> None:
    assert _error(mapping) == expected


def test_fixed_length_tuples_are_checked() -> None:
    assert _error({"inner": {"span": [0.1, 0.2, 0.3]}}).startswith(
        "train.inner.span: Tuple should have at most 2 items")


def test_the_dataclass_checks_name_their_section() -> None:
    assert _error({"inner": {"rate": 2}}) == "train.inner: rate must be in [0, 1], got 2.0"
    assert _error({"epochs": 99}) == "train: epochs 99 is reserved"
    assert _error({"epochs": 99}, where="") == "Outer: epochs 99 is reserved"


def test_every_error_of_a_section_is_reported_at_once() -> None:
    reason = _error({"epochs": "3", "amp": 1, "typo": 0})
    assert "train.typo" in reason and "train.epochs" in reason and "train.amp" in reason


def test_values_that_are_not_yaml_data_are_refused() -> None:
    assert _error({"kwargs": {"f": object()}}).startswith("train: <object object")
