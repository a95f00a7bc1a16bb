"""Provenance of a run: input file hashes, library versions, the git commit.

File hashes are logged as params (``data.<name>.sha256``): they identify the inputs,
and the UI's run comparison highlights params that differ. Library versions and the
git state are tags (``har.lib.<name>``, ``har.git.commit``, ``har.git.dirty``, plus
MLflow's own ``mlflow.source.git.commit`` that the UI shows on the run page). The
whole record is also logged as ``provenance.json``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import json
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import MAX_PARAMS_TAGS_PER_BATCH

from components._hashing import file_sha256
from components.tracking._active import resolve_run_id
from components.tracking._retry import retry_transient
from components.tracking.params import sanitize_key

PROVENANCE_ARTIFACT = "provenance.json"
GIT_COMMIT_TAG = "har.git.commit"
GIT_DIRTY_TAG = "har.git.dirty"
MLFLOW_GIT_COMMIT_TAG = "mlflow.source.git.commit"
UNKNOWN = "unknown"

# Library label -> distribution names to try, in order (OpenCV ships under several).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "av": ("av",),
    "ray": ("ray",),
    "mlflow": ("mlflow", "mlflow-skinny"),
    "timm": ("timm",),
    "numpy": ("numpy",),
    "opencv": (
        "opencv-contrib-python-headless",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-python",
    ),
}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape results (``unknown`` when not installed).

    Python's version is included. Versions come from package metadata, so nothing heavy
    is imported. PyAV is imported (it is light) to add the FFmpeg it bundles: ``ffmpeg``
    and ``av.libavcodec`` etc.

    Returns:
        Label to version string.
    """
    import platform

    versions: dict[str, str] = {"python": platform.python_version()}
    for label, distributions in LIBRARIES.items():
        versions[label] = UNKNOWN
        for distribution in distributions:
            try:
                versions[label] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    versions.update(_ffmpeg_versions())
    return versions


def _ffmpeg_versions() -> dict[str, str]:
    """FFmpeg as bundled with PyAV: its version and each library's, if PyAV imports."""
    try:
        av = importlib.import_module("av")
    except Exception:  # not installed, or a broken binary wheel
        return {}
    found: dict[str, str] = {}
    ffmpeg = getattr(av, "ffmpeg_version_info", None)
    if ffmpeg:
        found["ffmpeg"] = str(ffmpeg)
    for lib, version in sorted((getattr(av, "library_versions", None) or {}).items()):
        if isinstance(version, tuple | list):
            version = ".".join(str(part) for part in version)
        found[f"av.{lib}"] = str(version)
    return found


@dataclass(frozen=True)
class GitState:
    """The source tree a run came from.

    Attributes:
        commit: ``git rev-parse HEAD``, or ``unknown`` outside a repository / without git.
        dirty: Whether tracked files differ from the commit; None when unknown.
    """

    commit: str = UNKNOWN
    dirty: bool | None = None


def git_state(repo_root: Path | None = None) -> GitState:
    """The commit and dirtiness of the git tree at ``repo_root`` (read-only git calls).

    Args:
        repo_root: A folder inside the repository; this package's repository by default.

    Returns:
        The :class:`GitState`; ``unknown`` when git is missing or this is no repository.
    """
    cwd = Path(repo_root) if repo_root is not None else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return GitState()
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitState(commit=commit, dirty=None if status is None else bool(status))


@dataclass(frozen=True)
class Provenance:
    """Everything :func:`log_provenance` recorded.

    Attributes:
        files: Name to ``{"path": ..., "sha256": ...}``.
        libraries: Library label to version.
        git: The git state.
        params: The params logged.
        tags: The tags logged.
    """

    files: dict[str, dict[str, str]]
    libraries: dict[str, str]
    git: GitState
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def collect_provenance(files: Mapping[str, Path], *, repo_root: Path | None = None) -> Provenance:
    """Hash the files and gather versions and git state, without logging.

    Args:
        files: Name (``manifest``, ``trainlist``) to file path.
        repo_root: Repository to read the git state of; this package's by default.

    Returns:
        The :class:`Provenance` with the params and tags that would be logged.
    """
    hashed = {
        name: {"path": Path(path).as_posix(), "sha256": file_sha256(Path(path))}
        for name, path in files.items()
    }
    libraries = library_versions()
    git = git_state(repo_root)
    params = {sanitize_key(f"data.{name}.sha256"): info["sha256"] for name, info in hashed.items()}
    tags = {sanitize_key(f"har.lib.{label}"): version for label, version in libraries.items()}
    tags[GIT_COMMIT_TAG] = git.commit
    tags[GIT_DIRTY_TAG] = UNKNOWN if git.dirty is None else str(git.dirty).lower()
    if git.commit != UNKNOWN:
        tags[MLFLOW_GIT_COMMIT_TAG] = git.commit
    return Provenance(files=hashed, libraries=libraries, git=git, params=params, tags=tags)


def log_provenance(
    files: Mapping[str, Path],
    *,
    repo_root: Path | None = None,
    run_id: str | None = None,
) -> Provenance:
    """Log input file hashes, library versions and the git commit on a run.

    Args:
        files: Name (``manifest``, ``trainlist``, ``testlist``) to file path.
        repo_root: Repository to read the git state of; this package's by default.
        run_id: Run to log to; the active run by default.

    Returns:
        What was logged.

    Raises:
        InputError: If a file cannot be read.
    """
    run_id = resolve_run_id(run_id)
    record = collect_provenance(files, repo_root=repo_root)
    client = MlflowClient()
    entries: list[Param | RunTag] = [Param(k, v) for k, v in record.params.items()]
    entries += [RunTag(k, v) for k, v in record.tags.items()]
    for start in range(0, len(entries), MAX_PARAMS_TAGS_PER_BATCH):
        batch = entries[start : start + MAX_PARAMS_TAGS_PER_BATCH]
        params = [entry for entry in batch if isinstance(entry, Param)]
        tags = [entry for entry in batch if isinstance(entry, RunTag)]
        retry_transient(
            functools.partial(client.log_batch, run_id, params=params, tags=tags,
                              synchronous=True),
            what="logging provenance",
        )
    payload = {"files": record.files, "libraries": record.libraries, "git": asdict(record.git)}
    client.log_text(run_id, json.dumps(payload, indent=2, sort_keys=True), PROVENANCE_ARTIFACT)
    return record


def log_manifest_input(manifest: Path, *, name: str, run_id: str | None = None,
                       context: str = "training") -> None:
    """Log the manifest as the run's MLflow dataset input (the run page's "Datasets
    used": its name, digest, source path and columns), ``context`` training."""
    import warnings

    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag

    run_id = resolve_run_id(run_id)
    frame = pd.read_csv(manifest)
    with warnings.catch_warnings():
        # A local path is a local source whichever way MLflow reads it; the schema's
        # integer columns (frame counts) never hold missing values.
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*keyword-only")
        dataset = from_pandas(frame, source=str(Path(manifest).resolve()), name=name)
    entry = DatasetInput(dataset._to_mlflow_entity(),
                         tags=[InputTag("mlflow.data.context", context)])
    retry_transient(lambda: MlflowClient().log_inputs(run_id, datasets=[entry]),
                    what="logging the dataset input")

