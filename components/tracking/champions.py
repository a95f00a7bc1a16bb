"""The registry's champions as a table: ``python -m components.tracking.champions``.

Prints, for every registered model of this project, the version the ``champion``
alias points at, the metric it won on, the dataset key it was measured on, where
recorded its top-1 per lighting bucket (``har.lighting.<bucket>.top1``), and where its
model card is (a file path for a local artifact store, else the artifact's URI).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlflow.tracking import MlflowClient

from components.tracking.links import model_url
from components.tracking.model_card import card_artifact_path
from components.tracking.promotion import (
    DATASET_KEY_TAG,
    METRIC_TAG_PREFIX,
    current_champion,
    lighting_from_tags,
)
from components.tracking.store import resolve_tracking_uri, sqlite_db_path

#: Registered by training (components.training.driver) and evaluation (har evaluate).
PROJECT_MODELS = ("har-teacher", "har-lift-net", "har-lift-net-nokd", "har-normal-stream",
                  "har-motion-stream", "har-two-stream")


def card_location(artifact_uri: str, artifact: str, cwd: Path | None = None) -> str:
    """Where a run's artifact ``artifact`` is: a path (relative to ``cwd`` when under
    it) for a ``file:`` or plain-path artifact root, else ``<artifact_uri>/<artifact>``."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        return f"{artifact_uri.rstrip('/')}/{artifact}"
    path = Path(unquote(parsed.path)) / artifact
    base = (cwd or Path.cwd()).resolve()
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def champion_rows(client: MlflowClient) -> list[dict[str, str]]:
    """One row per registered project model that has a champion."""
    rows = []
    for name in PROJECT_MODELS:
        version = current_champion(name, client)
        if version is None:
            continue
        mv = client.get_model_version(name, version)
        tags = mv.tags
        card = ""
        if mv.run_id:
            card = card_location(client.get_run(mv.run_id).info.artifact_uri,
                                 card_artifact_path(name, version))
        metrics = {k[len(METRIC_TAG_PREFIX):]: v for k, v in tags.items()
                   if k.startswith(METRIC_TAG_PREFIX)}
        metric = ", ".join(f"{k} {float(v):.3f}" for k, v in sorted(metrics.items()))
        lighting = " ".join(f"{b} {100 * v:.1f}" for b, v in lighting_from_tags(tags).items())
        rows.append({"model": name, "champion": f"v{version}", "metric": metric,
                     "dataset": tags.get(DATASET_KEY_TAG, ""), "lighting": lighting,
                     "url": model_url(name, version), "card": card})
    return rows


def main(repo_root: Path | None = None) -> int:
    uri = resolve_tracking_uri(repo_root or Path.cwd())
    db = sqlite_db_path(uri)
    if db is not None and not db.is_file():
        print(f"no MLflow store at {db}: run the pipeline first", file=sys.stderr)
        return 1
    rows = champion_rows(MlflowClient(tracking_uri=uri))
    if not rows:
        print("no champion registered yet")
        return 0
    print("Registered champions (models:/<model>@champion)")
    width = max(len(r["model"]) for r in rows)
    for r in rows:
        lighting = f"  top-1 % by lighting: {r['lighting']}" if r["lighting"] else ""
        print(f"  {r['model']:<{width}}  {r['champion']:>4}  {r['metric']:<22} {r['dataset']}"
              f"{lighting}")
        if r["card"]:
            print(f"  {'':<{width}}  model card: {r['card']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
