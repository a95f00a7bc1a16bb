"""The model factory: configs name models, builders make them.

Builders register themselves with :func:`register_model` when their module is
imported. :data:`MODEL_MODULES` says which module registers each built-in name, so a
lookup imports that module alone (building a small 2D stream never imports timm) and
:func:`list_models` imports nothing: checking a config's names (``conf/models.yaml``
in every ``har train``) used to import every builder, timm and torchvision with
them, 3.7 s of a training stage's start. A name the index lacks (a builder
registered by the user's own code) is looked up by importing the modules of
:data:`BUILDER_MODULES` in order. :func:`create_model` checks
the keyword arguments against the builder's signature first, so a typo in a
config is a one-line :class:`~components.errors.ConfigError`, not a traceback.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from torch import nn

from components.errors import ConfigError

Family = Literal["video", "lift", "image", "ensemble", "two_stream"]


@dataclass(frozen=True)
class ModelSpec:
    """A registered builder.

    Attributes:
        name: The name configs use.
        builder: ``builder(**kwargs) -> nn.Module``.
        family: What inputs it takes: ``video`` (B, C, T, H, W) -> (logits, h1);
            ``lift`` (main (B, T, 3, H, W), luminous (B, C, T, H, W)) -> (logits, h2);
            ``image``/``ensemble`` (B, 3, H, W) -> logits;
            ``two_stream`` (normal (B, 3, H, W), motion (B, 3, H, W)) -> log-probabilities.
        description: One line for listings.
    """

    name: str
    builder: Callable[..., nn.Module]
    family: Family
    description: str


_REGISTRY: dict[str, ModelSpec] = {}

#: The modules that register builders, cheapest import first: the 2D streams (torch;
#: timm only when a timm backbone is built) and their ensemble and two-stream fusion,
#: the video teachers (torchvision), LIFT-Net (timm, torchvision).
BUILDER_MODULES: tuple[str, ...] = (
    "components.models.streams",
    "components.models.two_stream",
    "components.models.teacher",
    "components.models.lift_net",
)


#: Built-in model name -> the module of :data:`BUILDER_MODULES` that registers it
#: (tests/models/test_registry.py checks it against the registrations).
MODEL_MODULES: dict[str, str] = {
    **{name: "components.models.streams" for name in (
        "efficientnet_b0", "densenet201", "mobilenetv2_100", "resnet50", "inception_v3",
        "small_cnn")},
    "ensemble": "components.models.two_stream",
    "two_stream": "components.models.two_stream",
    "r2plus1d_18": "components.models.teacher",
    "r3d_18": "components.models.teacher",
    "lift_net": "components.models.lift_net",
}


def import_builders(until: str | None = None) -> None:
    """Import the builder modules in order, stopping once ``until`` is registered
    (None: import all)."""
    if until is not None and until not in _REGISTRY and until in MODEL_MODULES:
        importlib.import_module(MODEL_MODULES[until])
    for module in BUILDER_MODULES:
        if until is not None and until in _REGISTRY:
            return
        importlib.import_module(module)


def register_model(
    name: str, builder: Callable[..., nn.Module], *, family: Family, description: str = ""
) -> Callable[..., nn.Module]:
    """Register ``builder`` under ``name`` (a second registration of a name is an error)."""
    if name in _REGISTRY and _REGISTRY[name].builder is not builder:
        raise ValueError(f"model {name!r} is already registered")
    doc = description or (inspect.getdoc(builder) or "").split("\n", 1)[0]
    _REGISTRY[name] = ModelSpec(name=name, builder=builder, family=family, description=doc)
    return builder


def list_models() -> list[str]:
    """Names of every model :func:`create_model` builds, sorted: the built-in ones
    (:data:`MODEL_MODULES`, nothing imported) and any registered since."""
    return sorted(set(MODEL_MODULES) | set(_REGISTRY))


def model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``.

    Raises:
        ConfigError: No model has that name (the message lists the known names).
    """
    import_builders(until=name)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            Path(f"model '{name}'"), f"unknown model name; known: {', '.join(list_models())}"
        ) from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with ``kwargs``.

    Example:
        >>> create_model("r2plus1d_18", num_classes=11, in_channels=3)
        >>> create_model("lift_net", num_classes=11, vit_name="vit_tiny_patch16_224", img_size=64)

    Raises:
        ConfigError: Unknown name, or keyword arguments the builder does not take
            (or required ones left out).
    """
    spec = model_spec(name)
    signature = inspect.signature(spec.builder)
    params = signature.parameters
    takes = ", ".join(params)
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise ConfigError(
                Path(f"model '{name}'"),
                f"bad arguments: unknown {', '.join(unknown)}; the builder takes: {takes}",
            )
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        raise ConfigError(
            Path(f"model '{name}'"), f"bad arguments: {exc}; the builder takes: {takes}"
        ) from None
    return spec.builder(**kwargs)


def resolve_pretrained(
    name: str, kwargs: Mapping[str, Any], pretrained: Mapping[str, str | Path | None]
) -> dict[str, Any]:
    """Return ``kwargs`` with the local weight files of ``pretrained`` filled in.

    ``pretrained`` maps a *network* name to a file (``conf/models.yaml``,
    ``pretrained:``): a teacher or 2D backbone by its own name
    (``r2plus1d_18``, ``resnet50``, ...), LIFT-Net's Partial ViT by its
    ``vit_name`` (``vit_base_patch16_224``), ensemble and two-stream members by
    their backbone names. Entries that are null, and arguments the caller already
    set, are left alone. The files are not read here.
    """
    spec = model_spec(name)
    out = dict(kwargs)

    def path_of(key: str) -> str | None:
        value = pretrained.get(key)
        return None if value is None else str(value)

    if spec.family in ("video", "image"):
        if out.get("pretrained_path") is None and path_of(name):
            out["pretrained_path"] = path_of(name)
    elif spec.family == "lift":
        vit_name = out.get(
            "vit_name", inspect.signature(spec.builder).parameters["vit_name"].default
        )
        if out.get("vit_pretrained_path") is None and path_of(vit_name):
            out["vit_pretrained_path"] = path_of(vit_name)
    elif spec.family in ("ensemble", "two_stream"):
        params = inspect.signature(spec.builder).parameters
        if spec.family == "ensemble":
            members = list(out.get("backbones", params["backbones"].default))
        else:
            normal = out.get("normal_backbone", params["normal_backbone"].default)
            motion = out.get("motion_backbone") or normal
            members = [normal, motion]
        paths = dict(out.get("pretrained_paths") or {})
        for member in members:
            if member not in paths and path_of(member):
                paths[member] = path_of(member)
        if paths:
            out["pretrained_paths"] = paths
    return out
