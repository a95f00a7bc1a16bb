"""Model cards: the Markdown from known facts; the description and artifact in a
real registry."""

from __future__ import annotations

from pathlib import Path

from components.tracking import training_run
from components.tracking.model_card import (
    SYNTHETIC_LIMIT,
    attach_model_card,
    description_text,
    export_facts,
    model_card,
    refresh_model_card,
    training_card_facts,
)

from ._support import Tracking, register_version

FACTS = {
    "model": "har-two-stream", "version": "3",
    "data": {"dataset": "ucf101-UCF-101/split1", "split": "test", "lighting": "dark",
             "manifest_sha256": "ab12", "counts": {"train": 8, "test": 4},
             "per_class": {"Rise": {"train": 4, "test": 2}, "Fall": {"train": 4, "test": 2}},
             "per_lighting": {"dark": 3, "unknown": 1},
             "licence": "UCF101: see https://www.crcv.ucf.edu/data/UCF101.php"},
    "training": {"params": {"normal.model": "cnn"}, "epochs": "normal 3", "git_commit": "abc"},
    "results": {"overall": {"top1": 0.75, "top5": 1.0, "mean_class_acc": 0.75, "videos": 4.0},
                "per_class": {"Rise": 1.0, "Fall": 0.5},
                "per_lighting": {"dark": {"top1": 2 / 3, "videos": 3.0}},
                "classes": ["Rise", "Fall"], "confusion": [[2, 0], [1, 1]]},
}


def test_the_card_shows_every_section() -> None:
    card = model_card(FACTS)
    assert card.startswith("# Model card: har-two-stream v3\n")
    for text in ("- manifest sha256: `ab12`", "| Rise | 2 | 4 |", "dark 3, unknown 1",
                 "- git commit: `abc`", "| normal.model | `cnn` |", "top-1 75.0 %",
                 "| dark | 66.7 | 3 |", "| Fall | 50.0 |", "| Fall | 1 | 1 |",
                 "Not recorded (`har export`", "not for surveillance",
                 "UCF101: see https://www.crcv.ucf.edu/data/UCF101.php"):
        assert text.lower() in card.lower(), text
    assert SYNTHETIC_LIMIT not in card
    synthetic = model_card({**FACTS, "data": {"dataset": "ucf101-synthetic/split1",
                                              "licence": ""},
                            "export": {"parity_max_abs": "1e-6"}})
    assert SYNTHETIC_LIMIT in synthetic and "| parity_max_abs | 1e-6 |" in synthetic
    assert "states no licence" in synthetic


def test_export_figures_come_from_the_versions_tags() -> None:
    tags = {"har.export.parity_max_abs": "1e-06", "export_onnx.latency_ms": "3.2",
            "har.dataset_key": "x/split1"}
    assert export_facts(tags) == {"parity_max_abs": "1e-06", "export_onnx.latency_ms": "3.2"}


def test_a_long_card_is_cut_for_the_description_with_a_pointer() -> None:
    card = "line\n" * 2000
    cut = description_text(card, "model_card/m/v1/model_card.md", limit=300)
    assert len(cut) <= 300 and cut.endswith("`model_card/m/v1/model_card.md`)\n")
    assert description_text("short", "x") == "short"


def test_the_card_is_the_description_and_an_artifact(tracking: Tracking) -> None:
    client, name = tracking.client, "har-two-stream"
    version, run_id = register_version(tracking, name)
    client.set_model_version_tag(name, version, "har.export.latency_ms", "12.5")
    card = attach_model_card(client, name, version, FACTS | {"version": None})
    assert client.get_model_version(name, version).description == card
    assert "| latency_ms | 12.5 |" in card and f"v{version}" in card
    path = client.download_artifacts(run_id, f"model_card/{name}/v{version}/model_card.md",
                                     str(tracking.root))
    assert Path(path).read_text(encoding="utf-8") == card

    # har export tags the version later: the card is redone from the logged facts
    client.set_model_version_tag(name, version, "export_onnx.max_abs_diff", "3e-07")
    refreshed = refresh_model_card(client, name, version)
    assert refreshed is not None and "| export_onnx.max_abs_diff | 3e-07 |" in refreshed
    assert refreshed.replace("| export_onnx.max_abs_diff | 3e-07 |\n", "") == card
    assert client.get_model_version(name, version).description == refreshed
    with training_run("other", experiment=tracking.experiment) as other:
        bare = client.create_model_version(name, source=str(tracking.root / "n"),
                                           run_id=other.run_id).version
    assert refresh_model_card(client, name, bare) is None


def test_training_facts_and_what_the_registry_fills_in(tracking: Tracking, tmp_path: Path
                                                       ) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path\n")
    facts = training_card_facts(
        dataset_key="arid-ARID_v1/split1", dataset_info={"lighting": "dark", "train": 6,
                                                         "test": 2, "licence": "see ARID"},
        params={"epochs": 3, "optim": {"lr": 0.01}}, classes=["Run", "Walk"],
        metrics={"top1": 0.5, "top5": 1.0, "mean_class_acc": 0.5, "videos": 2.0, "epochs": 3},
        confusion=[[1, 0], [1, 0]], manifest=manifest, promotion="promoted: no champion yet")
    assert facts["training"]["params"] == {"epochs": 3, "optim.lr": 0.01}
    assert facts["results"]["per_class"] == {"Run": 1.0, "Walk": 0.0}
    assert len(facts["data"]["manifest_sha256"]) == 64
    client, name = tracking.client, "har-teacher"
    with training_run("train", experiment=tracking.experiment,
                      tags={"har.git.commit": "0123abc"}) as run:
        client.create_registered_model(name)
        version = client.create_model_version(name, source=str(tracking.root / "m"),
                                              run_id=run.run_id).version
        client.update_model_version(name, version, description="R(2+1)D teacher on ARID.")
        card = attach_model_card(client, name, version, facts)
    assert card.startswith(f"# Model card: {name} v{version}\n\nR(2+1)D teacher on ARID.\n")
    assert "- git commit: `0123abc`" in card and f"- MLflow run: {run.run_id}" in card
    assert "| optim.lr | `0.01` |" in card and "see ARID" in card
