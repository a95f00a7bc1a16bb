"""The ``champion`` alias: which registered version serves, and when it moves.

Policy (one ``champion`` alias per registered model; per-dataset aliases are out of
scope):

* The evaluation that backs a version is stored on it as tags: ``har.dataset_key``
  (``<dataset>/<split>``, e.g. ``synthetic-dark/split1``) and ``har.metric.<name>``.
* The alias moves to the candidate when there is no champion yet, or when the
  champion was evaluated on the same ``dataset_key``, has the same metric recorded,
  and the candidate is strictly better. Ties keep the champion.
* A champion evaluated on another ``dataset_key``, or without that metric, cannot be
  compared: it is kept, and the decision says why. (A person can move the alias by
  hand when a project switches datasets.)
* A NaN candidate never wins.
* Lighting guard (when the caller gives the candidate's top-1 per lighting bucket
  and a ``max_bucket_drop``; ``har evaluate`` does): a candidate better overall
  still does not move the alias when any bucket that both it and the champion
  were scored on (``har.lighting.<bucket>.top1`` tags) is more than
  ``max_bucket_drop`` percentage points worse than the champion's. A champion
  without bucket tags (registered before them, or by training) is not guarded
  against. The outcome is tagged ``har.lighting_guard`` and the bucket table
  ``har.lighting_table`` (JSON rows: bucket, candidate, champion, points).
* A version trained inside a DVC experiment (``DVC_EXP_NAME`` set: ``har ablate``'s
  cells), or by a scratch run (``candidate_only``: epochs or output folder changed on
  the command line), is never promoted automatically: it changes the configuration on
  purpose, and the served model should not follow it. It gets the ``challenger``
  alias instead (the newest such version), to compare or serve by hand.

Every decision is recorded as tags on the candidate version
(``har.champion_decision``, ``har.champion_reason``) and on the active run, if any
(``har.champion_decision`` = ``"<model> v<version>: promoted|kept: <reason>"``).

Promotion reads and then moves the alias without a lock: run it from one process
(the ``register`` stage), not from concurrent trials.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.tracking.params import sanitize_key

CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
DATASET_KEY_TAG = "har.dataset_key"
METRIC_TAG_PREFIX = "har.metric."
DECISION_TAG = "har.champion_decision"
REASON_TAG = "har.champion_reason"
LIGHTING_TAG_PREFIX = "har.lighting."
GUARD_TAG = "har.lighting_guard"
TABLE_TAG = "har.lighting_table"


def lighting_tag(bucket: str, what: str = "top1") -> str:
    """The model-version tag of one lighting bucket's figure (``har.lighting.dark.top1``)."""
    return sanitize_key(f"{LIGHTING_TAG_PREFIX}{bucket}.{what}")


def lighting_from_tags(tags: Mapping[str, str]) -> dict[str, float]:
    """Bucket -> top-1 (0..1) from a version's ``har.lighting.<bucket>.top1`` tags."""
    out = {}
    for key, value in tags.items():
        if key.startswith(LIGHTING_TAG_PREFIX) and key.endswith(".top1"):
            try:
                out[key[len(LIGHTING_TAG_PREFIX):-len(".top1")]] = float(value)
            except ValueError:
                continue
    return out


@dataclass(frozen=True)
class LightingGuard:
    """The outcome of :func:`lighting_guard`.

    Attributes:
        passed: no compared bucket drops more than the limit.
        reason: one line (which bucket failed, or how many were compared).
        rows: ``{"bucket", "candidate", "champion", "points"}`` per bucket (top-1 in
            0..1; ``points``: candidate minus champion in percentage points; None
            where one side lacks the bucket).
    """

    passed: bool
    reason: str
    rows: list[dict[str, object]] = field(default_factory=list)


def lighting_guard(candidate: Mapping[str, float], champion: Mapping[str, float],
                   max_drop_points: float) -> LightingGuard:
    """Whether no lighting bucket drops more than ``max_drop_points`` (pure logic).

    Args:
        candidate: bucket -> the candidate's top-1 (0..1).
        champion: bucket -> the champion's top-1 (0..1).
        max_drop_points: largest allowed drop, in percentage points.

    Buckets only one side has, or with a NaN figure, are listed but not compared.
    """
    rows: list[dict[str, object]] = []
    failed = []
    for bucket in sorted(set(candidate) | set(champion)):
        new, old = candidate.get(bucket), champion.get(bucket)
        comparable = (new is not None and old is not None
                      and math.isfinite(new) and math.isfinite(old))
        points = round(100.0 * (new - old), 2) if comparable else None  # type: ignore[operator]
        rows.append({"bucket": bucket, "candidate": new, "champion": old, "points": points})
        if points is not None and -points > max_drop_points:
            failed.append(f"{bucket} {points:+.1f}")
    compared = sum(r["points"] is not None for r in rows)
    if failed:
        return LightingGuard(False, f"lighting bucket(s) drop more than {max_drop_points:g} "
                             f"points: {', '.join(failed)}", rows)
    return LightingGuard(True, f"{compared} lighting bucket(s) compared, none drops more than "
                         f"{max_drop_points:g} points", rows)


def metric_tag(metric_name: str) -> str:
    """The model-version tag that holds a metric value (``har.metric.<name>``).

    Args:
        metric_name: Metric name, e.g. ``test/top1``.

    Returns:
        The tag key.
    """
    return sanitize_key(f"{METRIC_TAG_PREFIX}{metric_name}")


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of :func:`promote_if_better`.

    Attributes:
        promoted: Whether the alias now points at the candidate version.
        reason: Why, in one line.
        previous_version: The champion version before the decision, None if none.
        previous_value: The previous champion's metric value, None if none or unknown.
        champion_version: The champion version after the decision.
    """

    promoted: bool
    reason: str
    previous_version: str | None
    previous_value: float | None
    champion_version: str | None = None


def decide_promotion(
    candidate_value: float,
    champion_value: float | None,
    same_dataset: bool,
    higher_is_better: bool = True,
) -> tuple[bool, str]:
    """Whether a candidate replaces the champion (pure logic, no MLflow).

    Args:
        candidate_value: The candidate's metric value.
        champion_value: The champion's value on the same metric, None when there is no
            champion (then ``same_dataset`` is ignored).
        same_dataset: Whether both were evaluated on the same dataset key.
        higher_is_better: True for accuracy-like metrics, False for losses/errors.

    Returns:
        ``(promote, reason)``.
    """
    if math.isnan(candidate_value):
        return False, "candidate metric is NaN"
    if champion_value is None:
        return True, "no champion yet"
    if not same_dataset:
        return False, "champion was evaluated on another dataset key: not comparable, kept"
    if math.isnan(champion_value):
        return True, f"candidate {candidate_value:.6g} beats champion's NaN"
    better = (
        candidate_value > champion_value if higher_is_better else candidate_value < champion_value
    )
    values = f"candidate {candidate_value:.6g} vs champion {champion_value:.6g}"
    direction = "higher" if higher_is_better else "lower"
    if better:
        return True, f"{values}: candidate is better ({direction} is better)"
    if candidate_value == champion_value:
        return False, f"{values}: tie, champion kept"
    return False, f"{values}: candidate is not better ({direction} is better), champion kept"


def current_champion(model_name: str, client: MlflowClient | None = None) -> str | None:
    """The version the ``champion`` alias points at, or None (also for an unknown model).

    Args:
        model_name: Registered model name.
        client: MLflow client; a new one by default.

    Returns:
        The version string or None.
    """
    client = client or MlflowClient()
    try:
        registered = client.get_registered_model(model_name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = registered.aliases.get(CHAMPION_ALIAS)
    return None if version is None else str(version)


@dataclass(frozen=True)
class _Candidate:
    """The version under decision and what it was evaluated on (promote_if_better's args)."""

    model: str
    version: str
    metric_name: str
    value: float
    dataset_key: str
    higher_is_better: bool
    lighting: Mapping[str, float] | None
    max_bucket_drop: float | None

    @property
    def guarded(self) -> bool:
        """Whether the lighting guard applies (bucket figures and a limit were given)."""
        return self.lighting is not None and self.max_bucket_drop is not None


@dataclass(frozen=True)
class _Verdict:
    """Whether the candidate takes ``champion``, why, and what it was compared with."""

    promote: bool
    reason: str
    champion_value: float | None = None
    guard: LightingGuard | None = None


def promote_if_better(
    model_name: str,
    version: str | int,
    *,
    metric_name: str,
    metric_value: float,
    dataset_key: str,
    higher_is_better: bool = True,
    candidate_only: str = "",
    dvc_experiment: str = "",
    lighting: Mapping[str, float] | None = None,
    max_bucket_drop: float | None = None,
) -> PromotionDecision:
    """Record a version's evaluation and move ``champion`` to it if it is better.

    See the module docstring for the policy.

    Args:
        model_name: Registered model name (``har-teacher``).
        version: The candidate version.
        metric_name: The metric compared (``test/top1``).
        metric_value: The candidate's value of it.
        dataset_key: ``<dataset>/<split>`` the value was measured on.
        higher_is_better: Direction of the metric.
        candidate_only: why this version must not compete for ``champion`` (a scratch
            run); it gets ``challenger``.
        dvc_experiment: the DVC experiment that trained it (``dvc exp run`` sets
            ``DVC_EXP_NAME``; the stage passes it on), "" if none: an experiment's
            version gets ``challenger`` too.
        lighting: the candidate's top-1 (0..1) per lighting bucket; tagged on it.
        max_bucket_drop: with ``lighting``, the lighting guard's limit in percentage
            points (see the module docstring); None: no guard.

    Returns:
        The :class:`PromotionDecision`, also recorded as tags.
    """
    client = MlflowClient()
    candidate = _Candidate(model_name, str(version), metric_name, float(metric_value),
                           dataset_key, higher_is_better, lighting, max_bucket_drop)
    _tag_evaluation(client, candidate)
    champion = current_champion(model_name, client)
    experiment = dvc_experiment.strip()
    if experiment or candidate_only:
        verdict = _challenger(client, candidate, experiment, candidate_only)
    else:
        verdict = _against_champion(client, candidate, champion)
    if verdict.promote:
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, candidate.version)
    decision = PromotionDecision(
        promoted=verdict.promote,
        reason=verdict.reason,
        previous_version=champion,
        previous_value=verdict.champion_value,
        champion_version=candidate.version if verdict.promote else champion,
    )
    _record(client, model_name, candidate.version, decision)
    if candidate.guarded:
        _record_lighting_guard(client, candidate, verdict.guard)
    return decision


def _tag_evaluation(client: MlflowClient, candidate: _Candidate) -> None:
    """Tag the candidate with its dataset key, metric value and lighting figures."""
    model, version = candidate.model, candidate.version
    client.set_model_version_tag(model, version, DATASET_KEY_TAG, candidate.dataset_key)
    client.set_model_version_tag(model, version, metric_tag(candidate.metric_name),
                                 repr(candidate.value))
    for bucket, top1 in (candidate.lighting or {}).items():
        client.set_model_version_tag(model, version, lighting_tag(bucket), repr(float(top1)))


def _challenger(client: MlflowClient, candidate: _Candidate, experiment: str,
                candidate_only: str) -> _Verdict:
    """Give the candidate ``challenger``: it never competes for ``champion``."""
    # An ablation cell (`dvc exp run`, har ablate) or a scratch run varies the
    # configuration on purpose: registered and compared, never served automatically.
    why = f"trained in DVC experiment {experiment!r}" if experiment else candidate_only
    reason = (f"{why}: never promoted automatically; alias {CHALLENGER_ALIAS!r} (move "
              f"{CHAMPION_ALIAS!r} by hand to serve it)")
    client.set_registered_model_alias(candidate.model, CHALLENGER_ALIAS, candidate.version)
    return _Verdict(False, reason)


def _against_champion(client: MlflowClient, candidate: _Candidate,
                      champion: str | None) -> _Verdict:
    """Compare the candidate with the current champion (None: there is none)."""
    if champion is None:
        return _Verdict(*decide_promotion(candidate.value, None, True,
                                          candidate.higher_is_better))
    if champion == candidate.version:
        return _Verdict(False, f"v{candidate.version} is already the champion")
    tags = client.get_model_version(candidate.model, champion).tags
    champion_dataset = tags.get(DATASET_KEY_TAG)
    raw = tags.get(metric_tag(candidate.metric_name))
    champion_value = float(raw) if raw is not None else None
    metric_name, dataset_key = candidate.metric_name, candidate.dataset_key
    if champion_dataset != dataset_key:
        where = champion_dataset or "an unknown dataset"
        return _Verdict(False, f"champion v{champion} was evaluated on {where}, not "
                        f"{dataset_key}: not comparable, kept", champion_value)
    if champion_value is None:
        return _Verdict(False, f"champion v{champion} has no recorded {metric_name}: "
                        "not comparable, kept")
    promote, reason = decide_promotion(candidate.value, champion_value, True,
                                       candidate.higher_is_better)
    reason = f"{reason} (champion v{champion}, {metric_name} on {dataset_key})"
    if candidate.lighting is None or candidate.max_bucket_drop is None:  # no guard
        return _Verdict(promote, reason, champion_value)
    guard = lighting_guard(candidate.lighting, lighting_from_tags(tags),
                           candidate.max_bucket_drop)
    if promote and not guard.passed:
        return _Verdict(False, f"{reason}; but {guard.reason}: champion kept", champion_value,
                        guard)
    return _Verdict(promote, reason, champion_value, guard)


def _record_lighting_guard(client: MlflowClient, candidate: _Candidate,
                           guard: LightingGuard | None) -> None:
    """Tag the guard's outcome and bucket table on the candidate (None: not compared)."""
    model, version = candidate.model, candidate.version
    client.set_model_version_tag(
        model, version, GUARD_TAG,
        "not compared (no comparable champion)" if guard is None
        else f"{'passed' if guard.passed else 'failed'}: {guard.reason}")
    rows = guard.rows if guard is not None else [
        {"bucket": b, "candidate": v, "champion": None, "points": None}
        for b, v in sorted((candidate.lighting or {}).items())]
    client.set_model_version_tag(model, version, TABLE_TAG, json.dumps(rows))


def _record(
    client: MlflowClient, model_name: str, version: str, decision: PromotionDecision
) -> None:
    """Write the decision on the candidate version and on the active run, if any."""
    verdict = "promoted" if decision.promoted else "kept"
    client.set_model_version_tag(model_name, version, DECISION_TAG, verdict)
    client.set_model_version_tag(model_name, version, REASON_TAG, decision.reason)
    run = mlflow.active_run()
    if run is not None:
        client.set_tag(
            run.info.run_id, DECISION_TAG, f"{model_name} v{version}: {verdict}: {decision.reason}"
        )
