"""Training checkpoints: what they hold, whose they are, and finding the latest one.

A checkpoint is a folder (Ray Train persists it as ``<run dir>/epoch-NNNN``)::

    meta.json   format, job, model, epoch, the run's fingerprint (digest, its parts
                and the resolved config) and the per-epoch history: readable
                without torch
    state.pt    torch.save of {model, optimizer, scheduler, scaler, epoch, step,
                rng (one entry per DDP rank), history, extra}

The model's state dict is the *unwrapped* model's (no DDP ``module.`` prefix).
Everything in ``state.pt`` is tensors and plain Python data, so it loads with
``torch.load(weights_only=True)``.

The fingerprint identifies what a run computes: a hash of the resolved
configuration (minus settings that only change how it runs, such as the worker
count), the manifest's hash, the model name and the input files' hashes (shard
metadata, the teacher's weights). A checkpoint is loaded only when its
fingerprint equals the run's; otherwise :class:`CheckpointMismatchError` names
what differs. Never a checkpoint of another model or config.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from components._atomic import write_text_atomic
from components._json import read_json
from components.config import as_plain
from components.errors import InputError

FORMAT = "har-train-checkpoint"
VERSION = 1
META_FILE = "meta.json"
STATE_FILE = "state.pt"
#: Ray Train V2 writes this into the run folder (``RunConfig(storage_path)/name``);
#: it lists the registered checkpoints, latest last.
RAY_SNAPSHOT_FILE = "checkpoint_manager_snapshot.json"
CHECKPOINT_PREFIX = "epoch-"


class CheckpointMismatchError(InputError):
    """A checkpoint belongs to another run (model, config, data or inputs differ)."""


@dataclass(frozen=True)
class Fingerprint:
    """What a run computes, as one digest plus the parts it was made of.

    Attributes:
        digest: SHA-256 over ``parts``.
        parts: name -> hash or value (``config``, ``manifest``, ``model``, input files).
        config: the resolved configuration (to name differing keys in errors).
    """

    digest: str
    parts: dict[str, str]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.digest[:8]

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "parts": dict(self.parts), "config": self.config}

    @staticmethod
    def from_json(doc: Mapping[str, Any]) -> Fingerprint:
        return Fingerprint(str(doc["digest"]), {str(k): str(v) for k, v in doc["parts"].items()},
                           dict(doc.get("config", {})))


def stable_hash(data: Any) -> str:
    """SHA-256 of JSON-friendly ``data`` with sorted keys (the same on every machine)."""
    text = json.dumps(as_plain(data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_fingerprint(
    config: Mapping[str, Any], *, manifest_sha256: str, model: str,
    inputs: Mapping[str, str] | None = None,
) -> Fingerprint:
    """The fingerprint of a run.

    Args:
        config: the resolved configuration that determines the result (no
            operational settings).
        manifest_sha256: SHA-256 of manifest.csv.
        model: registered model name.
        inputs: other input identities, name -> hash (shard meta.json, teacher weights).
    """
    plain = as_plain(dict(config))
    parts = {"config": stable_hash(plain), "manifest": manifest_sha256, "model": model}
    parts.update({f"input.{k}": str(v) for k, v in sorted((inputs or {}).items())})
    return Fingerprint(stable_hash(parts), parts, plain)


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, Mapping):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: doc}


def describe_difference(found: Fingerprint, expected: Fingerprint, limit: int = 6) -> str:
    """A one-line account of how two fingerprints differ."""
    reasons: list[str] = []
    if found.parts.get("model") != expected.parts.get("model"):
        reasons.append(f"model {found.parts.get('model')} vs {expected.parts.get('model')}")
    if found.parts.get("manifest") != expected.parts.get("manifest"):
        reasons.append("the manifest differs")
    for key in sorted(set(found.parts) | set(expected.parts)):
        if key.startswith("input.") and found.parts.get(key) != expected.parts.get(key):
            reasons.append(f"{key[len('input.'):]} differs")
    a, b = _flatten(found.config), _flatten(expected.config)
    changed = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    for key in changed[:limit]:
        reasons.append(f"{key}: {a.get(key, '<unset>')!r} in the checkpoint, "
                       f"{b.get(key, '<unset>')!r} now")
    if len(changed) > limit:
        reasons.append(f"and {len(changed) - limit} more config values")
    if not reasons:
        reasons.append(f"fingerprint {found.short} vs {expected.short}")
    return "; ".join(reasons)


def checkpoint_dir_name(epoch: int) -> str:
    """``epoch-0001``: the folder name of epoch ``epoch``'s checkpoint."""
    return f"{CHECKPOINT_PREFIX}{epoch:04d}"


# --------------------------------------------------------------------------- RNG


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy (global) and torch (CPU and CUDA) RNG states, as plain data."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos),
                  int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Undo :func:`capture_rng_state` (missing parts are left alone)."""
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = list(state["cuda"])
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


# --------------------------------------------------------------------------- save / load


def save_checkpoint(
    directory: Path, *, fingerprint: Fingerprint, job: str, model_name: str, epoch: int,
    state: Mapping[str, Any],
) -> None:
    """Write ``state.pt`` and ``meta.json`` into ``directory`` (meta last).

    Args:
        directory: an existing (temporary) folder; Ray copies it to storage.
        fingerprint: the run's fingerprint.
        job: the training job (recorded in meta.json).
        model_name: the registered builder (recorded in meta.json).
        epoch: the epoch just finished (recorded in meta.json).
        state: model (unwrapped), optimizer, scheduler, scaler, rng, history...
    """
    directory = Path(directory)
    if any(k.startswith("module.") for k in state.get("model", {})):
        raise ValueError("checkpoint model state has DDP 'module.' keys: save the unwrapped "
                         "model (unwrap_model)")
    torch.save(dict(state), directory / STATE_FILE)
    meta = {"format": FORMAT, "version": VERSION, "job": job, "model": model_name,
            "epoch": int(epoch), "fingerprint": fingerprint.to_json(),
            "history": [{k: _json_number(v) for k, v in h.items()}
                        for h in state.get("history", [])]}
    write_text_atomic(directory / META_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def _json_number(value: Any) -> Any:
    """NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def read_checkpoint_meta(directory: Path) -> dict[str, Any]:
    """meta.json of a checkpoint folder; InputError if missing or malformed."""
    path = Path(directory) / META_FILE
    meta = read_json(path, missing="not a training checkpoint (no meta.json)")
    if meta.get("format") != FORMAT or "fingerprint" not in meta:
        raise InputError(path, f"not a {FORMAT} meta file")
    if meta.get("version") != VERSION:
        raise InputError(path, f"unsupported checkpoint version {meta.get('version')!r}")
    return meta


def verify_checkpoint(directory: Path, expected: Fingerprint) -> dict[str, Any]:
    """Check that a checkpoint belongs to the run with fingerprint ``expected``.

    Returns:
        The checkpoint's meta.json.

    Raises:
        CheckpointMismatchError: it was written by another model, config or data,
            with the differences named.
    """
    meta = read_checkpoint_meta(directory)
    found = Fingerprint.from_json(meta["fingerprint"])
    if found.digest != expected.digest:
        raise CheckpointMismatchError(
            Path(directory),
            f"checkpoint of epoch {meta.get('epoch')} belongs to another run "
            f"(fingerprint {found.short}, this run is {expected.short}): "
            f"{describe_difference(found, expected)}. Refusing to load it; rerun with "
            "--fresh to start over, or restore the configuration it was trained with",
        )
    return meta


def load_checkpoint(
    directory: Path, expected: Fingerprint, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Verify, then load ``state.pt`` (weights only: tensors and plain data)."""
    verify_checkpoint(directory, expected)
    from components.models.weights import load_torch_file

    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise InputError(path, "checkpoint has no state file")
    return load_torch_file(path, "checkpoint state", map_location)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint Ray Train resumes the run in ``run_dir`` from, or None.

    Reads Ray's snapshot of registered checkpoints (only checkpoints that were
    completely persisted and registered are listed there); without a snapshot,
    no checkpoint was registered and Ray starts from scratch.
    """
    run_dir = Path(run_dir)
    snapshot = run_dir / RAY_SNAPSHOT_FILE
    if not snapshot.is_file():
        return None
    try:
        doc = json.loads(snapshot.read_text(encoding="utf-8"))
        name = (doc.get("latest_checkpoint_result") or {}).get("checkpoint_dir_name")
    except (json.JSONDecodeError, AttributeError):
        name = None
    if name:
        path = run_dir / name
        return path if path.is_dir() else None
    # Unknown snapshot layout: the highest complete epoch folder.
    done = sorted(p for p in run_dir.glob(f"{CHECKPOINT_PREFIX}*") if (p / META_FILE).is_file())
    return done[-1] if done else None
