"""Pretrained weights from local files, with a report of what was loaded.

Nothing here downloads: every checkpoint is a file the user names (in
``conf/models.yaml`` under ``pretrained:``). Files are read with
``torch.load(..., weights_only=True)``, so only plain state dicts (name ->
tensor, optionally inside a ``{"state_dict": ...}`` or ``{"model": ...}``
wrapper, optionally with a ``module.`` DDP prefix) are accepted; arbitrary
pickles are refused.

Models may define ``adapt_pretrained_state_dict(state_dict) -> Adapted`` to
translate a foreign checkpoint before it is compared with their own state dict
(drop an ImageNet/Kinetics classifier whose class count differs, add a
``backbone.`` prefix, resample a ViT position embedding, average RGB filters
for a 2-channel optical-flow input). Everything else must fit exactly, or
:func:`load_pretrained` raises :class:`components.errors.InputError` naming the
file and the keys at fault.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from components.errors import InputError

logger = logging.getLogger(__name__)

#: Buffers some checkpoints lack (older PyTorch) and that may stay at their initial value.
ALWAYS_ALLOWED_MISSING: tuple[str, ...] = ("*num_batches_tracked",)
#: Prefixes stripped from every checkpoint key (DDP, ``torch.compile``).
STRIPPED_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
_WRAPPER_KEYS: tuple[str, ...] = ("state_dict", "model", "model_state_dict", "module")
_SHOW = 5  # keys shown per category in error messages


@dataclass(frozen=True)
class Adapted:
    """A checkpoint translated by a model's ``adapt_pretrained_state_dict`` hook.

    Attributes:
        state_dict: The translated checkpoint (keys in the model's naming).
        ignored: Checkpoint keys dropped on purpose (e.g. a 1000-class head).
        allow_missing: ``fnmatch`` patterns of model keys that may keep their
            initial values (e.g. the new classifier head).
        notes: Human-readable adaptations made (one line each).
    """

    state_dict: dict[str, torch.Tensor]
    ignored: tuple[str, ...] = ()
    allow_missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadReport:
    """Which keys of a checkpoint went where.

    Attributes:
        source: The file (or a ``<description>`` for in-memory state dicts).
        loaded: Model keys whose values now come from the checkpoint.
        missing: Model keys the checkpoint does not have (left at their initial values;
            keys with a shape mismatch are listed under ``mismatched`` instead).
        unexpected: Checkpoint keys the model does not have.
        mismatched: ``(key, checkpoint_shape, model_shape)`` for keys present in both
            with different shapes (not loaded).
        ignored: Checkpoint keys dropped on purpose (by the model's adapter or ``ignore``).
        allowed_missing: Patterns of missing model keys that were allowed.
        notes: Adaptations made while loading.
    """

    source: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()
    ignored: tuple[str, ...] = ()
    allowed_missing: tuple[str, ...] = field(default=ALWAYS_ALLOWED_MISSING)
    notes: tuple[str, ...] = ()

    @property
    def disallowed_missing(self) -> tuple[str, ...]:
        """Missing model keys that no ``allowed_missing`` pattern covers."""
        return tuple(k for k in self.missing if not _matches(k, self.allowed_missing))

    @property
    def ok(self) -> bool:
        """True when every model key that must be loaded was, and nothing was left over."""
        return not (self.disallowed_missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        """A few lines: counts per category, then the adaptations made."""
        lines = [
            f"{self.source}: loaded {len(self.loaded)} tensors; "
            f"missing {len(self.missing)}, unexpected {len(self.unexpected)}, "
            f"shape mismatches {len(self.mismatched)}, ignored {len(self.ignored)}"
        ]
        if self.missing:
            lines.append(f"  missing (kept initial values): {_preview(self.missing)}")
        if self.unexpected:
            lines.append(f"  unexpected: {_preview(self.unexpected)}")
        for key, ckpt, mine in self.mismatched[:_SHOW]:
            lines.append(f"  shape mismatch: {key}: checkpoint {list(ckpt)} vs model {list(mine)}")
        if self.ignored:
            lines.append(f"  ignored: {_preview(self.ignored)}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def _preview(keys: Sequence[str], n: int = _SHOW) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... (+{len(keys) - n} more)" if len(keys) > n else "")


def unwrap_state_dict(obj: Any, source: str | Path = "<state dict>") -> dict[str, torch.Tensor]:
    """Return the plain ``name -> tensor`` mapping inside a loaded checkpoint.

    Accepts a state dict, or one nested in ``{"state_dict": ...}``, ``{"model": ...}``,
    ``{"model_state_dict": ...}`` or ``{"module": ...}`` (other entries of the wrapper
    such as ``epoch`` or ``optimizer`` are ignored). Strips a ``module.`` (DDP) or
    ``_orig_mod.`` (``torch.compile``) prefix from every key that has one.

    Raises:
        InputError: ``obj`` holds no mapping of tensors.
    """
    for _ in range(3):  # a wrapper may itself be wrapped ({"model": {"state_dict": ...}})
        if not isinstance(obj, Mapping):
            break
        inner = next(
            (obj[k] for k in _WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None
        )
        if inner is None or all(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        obj = inner
    if not isinstance(obj, Mapping) or not obj:
        raise InputError(
            source, f"expected a state dict (parameter name -> tensor), got {type(obj).__name__}"
        )
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise InputError(
            source,
            "expected a state dict (parameter name -> tensor), but these entries are not "
            f"tensors: {_preview([str(k) for k in bad])}",
        )
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        key = str(key)
        for prefix in STRIPPED_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file as a state dict (``weights_only=True``).

    Wrappers and prefixes are handled as in :func:`unwrap_state_dict`.

    Raises:
        InputError: The file does not exist, cannot be read safely, or holds no state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            path,
            "pretrained weights file not found (nothing is downloaded: "
            "put the file there or set its entry in conf/models.yaml to null)",
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and weights_only errors all land here
        raise InputError(
            path, f"cannot read as a PyTorch state dict (torch.load weights_only=True): {exc}"
        ) from exc
    return unwrap_state_dict(obj, path)


def load_torch_file(path: str | Path, what: str, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain data only, never
    arbitrary objects. A missing, truncated, tampered or foreign file is an
    :class:`InputError` that names the file and says what it should have been.

    Args:
        path: the file.
        what: what the file is, for the message ("trained weights", "checkpoint state").
        map_location: as for ``torch.load``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # zip (truncated), unpickling (foreign/tampered), EOF errors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(path, f"{what} is damaged or not a PyTorch weights file "
                               f"({type(exc).__name__}: {first}); nothing was executed "
                               f"from it (weights-only load)") from exc


def load_state_dict_checked(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    source: str | Path = "<state dict>",
    strict: bool = True,
    ignore: Sequence[str] = (),
    allow_missing: Sequence[str] = (),
    adapt: bool = True,
) -> LoadReport:
    """Load an in-memory state dict into ``model`` and report what went where.

    Args:
        model: The module to fill (its parameters keep their ``requires_grad``).
        state_dict: ``name -> tensor`` (already unwrapped).
        source: Names the origin in the report and in errors.
        strict: Refuse (raise) when a model key is missing (beyond ``allow_missing``),
            a checkpoint key is unexpected, or shapes differ. With ``strict=False``
            whatever fits is loaded and the rest is only reported.
        ignore: ``fnmatch`` patterns of checkpoint keys to drop before comparing.
        allow_missing: ``fnmatch`` patterns of model keys that may stay at their
            initial values.
        adapt: Apply the model's ``adapt_pretrained_state_dict`` hook, if it has one.

    Returns:
        The :class:`LoadReport`.

    Raises:
        InputError: Nothing in the checkpoint fits the model, or (``strict``) some keys do not.
    """
    source = str(source)
    state, ignored, allowed, notes = _prepared_state(model, state_dict, source, ignore=ignore,
                                                     allow_missing=allow_missing, adapt=adapt)
    own = model.state_dict()
    report = _compare(source, state, own, ignored=ignored, allowed=allowed, notes=notes)
    if not report.loaded:
        raise InputError(
            source,
            f"none of the checkpoint's {len(state)} tensors fit {type(model).__name__} "
            f"(checkpoint keys look like {_preview(sorted(state), 3) or 'nothing'}; "
            f"the model's look like {_preview(sorted(own), 3)})",
        )
    if strict and not report.ok:
        raise InputError(source, _misfit_message(report, type(model).__name__))
    with torch.no_grad():
        model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    logger.info("%s", report.summary())
    return report


def _prepared_state(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str, *,
    ignore: Sequence[str], allow_missing: Sequence[str], adapt: bool,
) -> tuple[dict[str, torch.Tensor], list[str], list[str], list[str]]:
    """The checkpoint as the model will see it (unwrapped, adapted by the model's hook,
    ``ignore`` dropped), the keys dropped, the allowed-missing patterns and the notes."""
    state = dict(unwrap_state_dict(state_dict, source))
    ignored: list[str] = []
    notes: list[str] = []
    allowed = list(ALWAYS_ALLOWED_MISSING) + list(allow_missing)
    hook = getattr(model, "adapt_pretrained_state_dict", None)
    if adapt and callable(hook):
        adapted = hook(state)
        state = dict(adapted.state_dict)
        ignored.extend(adapted.ignored)
        allowed.extend(adapted.allow_missing)
        notes.extend(adapted.notes)
    if ignore:
        dropped = [k for k in state if _matches(k, ignore)]
        ignored.extend(dropped)
        for k in dropped:
            del state[k]
    return state, ignored, allowed, notes


def _compare(source: str, state: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor],
             *, ignored: list[str], allowed: list[str], notes: list[str]) -> LoadReport:
    """Sort the checkpoint's keys against the model's: loadable, of another shape,
    unknown to the model; and the model's keys the checkpoint lacks."""
    loaded, mismatched, unexpected = [], [], []
    for key, value in state.items():
        if key not in own:
            unexpected.append(key)
        elif tuple(own[key].shape) != tuple(value.shape):
            mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
        else:
            loaded.append(key)
    missing = [k for k in own if k not in state]
    return LoadReport(source=source, loaded=tuple(loaded), missing=tuple(missing),
                      unexpected=tuple(unexpected), mismatched=tuple(mismatched),
                      ignored=tuple(ignored), allowed_missing=tuple(allowed), notes=tuple(notes))


def _misfit_message(report: LoadReport, model_name: str) -> str:
    """Why a strict load refuses: the missing, unexpected and misshapen keys."""
    problems = []
    if report.disallowed_missing:
        problems.append(f"{len(report.disallowed_missing)} model keys missing from the "
                        f"checkpoint ({_preview(report.disallowed_missing)})")
    if report.unexpected:
        problems.append(f"{len(report.unexpected)} checkpoint keys the model does not have "
                        f"({_preview(report.unexpected)})")
    if report.mismatched:
        shown = "; ".join(f"{k}: checkpoint {list(a)} vs model {list(b)}"
                          for k, a, b in report.mismatched[:_SHOW])
        problems.append(f"{len(report.mismatched)} shape mismatches ({shown})")
    return (f"checkpoint does not fit {model_name}: " + "; ".join(problems)
            + " (load with strict=False to take only what fits)")


def load_pretrained(
    model: nn.Module,
    path: str | Path,
    *,
    strict: bool = True,
    ignore: Sequence[str] = (),
    allow_missing: Sequence[str] = (),
    adapt: bool = True,
) -> LoadReport:
    """Load weights from a local checkpoint file into ``model``.

    The file must be a state dict saved with ``torch.save`` (see
    :func:`read_state_dict` for the wrappers and prefixes accepted). Keyword
    arguments are those of :func:`load_state_dict_checked`.

    Example:
        >>> report = load_pretrained(model, "weights/r2plus1d_18_kinetics400.pth")
        >>> print(report.summary())

    Raises:
        InputError: The file is missing or unreadable, or its keys do not fit (see above).
    """
    state = read_state_dict(path)
    return load_state_dict_checked(
        model,
        state,
        source=Path(path),
        strict=strict,
        ignore=ignore,
        allow_missing=allow_missing,
        adapt=adapt,
    )


def drop_mismatched_classifier(
    state: Mapping[str, torch.Tensor],
    own: Mapping[str, torch.Tensor],
    prefix: str,
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Drop ``prefix.weight``/``prefix.bias`` when their shapes differ from the model's.

    The usual case: an ImageNet (1000 classes) or Kinetics (400) classifier loaded
    into a model with another number of classes. Returns ``(state, ignored, notes)``.
    """
    state = dict(state)
    ignored: list[str] = []
    notes: list[str] = []
    keys = [k for k in state if k in (f"{prefix}.weight", f"{prefix}.bias")]
    if any(k in own and tuple(own[k].shape) != tuple(state[k].shape) for k in keys):
        ckpt_classes = state[keys[0]].shape[0]
        model_classes = own[keys[0]].shape[0]
        for k in keys:
            ignored.append(k)
            del state[k]
        notes.append(
            f"classifier {prefix} not loaded: the checkpoint has {ckpt_classes} outputs, "
            f"the model {model_classes}; it keeps its fresh initialisation"
        )
    return state, ignored, notes


def adapt_input_channels(
    weight: torch.Tensor, in_channels: int, key: str
) -> tuple[torch.Tensor, str]:
    """Fit a first-layer filter bank pretrained on RGB to ``in_channels`` inputs.

    Cross-modality initialisation (as in TSN): average the filters over the input
    channel axis (dim 1) and repeat the mean ``in_channels`` times, e.g. RGB ->
    optical flow (x, y). Returns the new weight and a note for the report.
    """
    mean = weight.mean(dim=1, keepdim=True)
    repeats = [1] * weight.dim()
    repeats[1] = in_channels
    note = (
        f"{key}: averaged the checkpoint's {weight.shape[1]} input-channel filters and "
        f"repeated them for {in_channels} channels"
    )
    return mean.repeat(*repeats).contiguous(), note
