"""The kinds' parameters as they travel: params dataclasses to the shards' ``kind_params``
JSON and back, and the one count of flow channels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.representations.flow import FLOW_CHANNELS, optical_flow
from components.representations.kinds import (
    KIND_CHANNELS,
    KINDS,
    FlowParams,
    GammaParams,
    KindParams,
    MEIParams,
    RankParams,
    channels_of,
    compute,
)

PARAMS = KindParams(mei=MEIParams(n=4, interval=3, method="equal", source="gamma"),
                    gamma=GammaParams(gamma="auto", target_mean=0.3),
                    flow=FlowParams(method="farneback", bound=15.0),
                    rank=RankParams(window=5, stride=1, source="frames"))


def test_each_kind_records_exactly_its_own_parameters() -> None:
    assert PARAMS.to_json("mei") == {
        "n": 4, "interval": 3, "method": "equal", "source": "gamma",
        "gamma": {"gamma": "auto", "target_mean": 0.3}}  # made from gamma-corrected frames
    assert PARAMS.to_json("rank") == {"window": 5, "stride": 1, "source": "frames"}
    assert PARAMS.to_json("gamma") == {"gamma": "auto", "target_mean": 0.3}
    assert PARAMS.to_json("flow") == {"method": "farneback", "bound": 15.0,
                                      "raft_weights": None, "device": "cpu"}
    assert PARAMS.to_json("frames") == {}


@pytest.mark.parametrize("kind", KINDS)
def test_the_json_reads_back_as_the_parameters_that_make_the_kind(kind: str) -> None:
    stored = json.loads(json.dumps(PARAMS.to_json(kind)))  # as meta.json holds it
    back = KindParams.from_json(kind, stored)
    assert back.to_json(kind) == PARAMS.to_json(kind)
    if kind != "frames":
        assert getattr(back, kind) == getattr(PARAMS, kind)


def test_a_spec_from_before_source_existed_was_made_from_the_frames() -> None:
    old = {"n": 10, "interval": 10, "method": "gradient"}
    assert KindParams.from_json("mei", old).mei == MEIParams(10, 10, "gradient", "frames")
    assert KindParams.from_json("rank", {"window": 4, "stride": 4}).rank.source == "frames"
    assert MEIParams().source == "gamma"  # what params.yaml chooses now


def test_a_bad_stored_spec_is_refused() -> None:
    with pytest.raises(TypeError):
        KindParams.from_json("flow", {"method": "dis", "colour": 1})
    with pytest.raises(ValueError, match="mei.interval"):
        KindParams.from_json("mei", {"interval": 0})


def test_flow_has_one_channel_count() -> None:
    assert KIND_CHANNELS["flow"] == channels_of("flow") == FLOW_CHANNELS
    clip = np.zeros((3, 16, 16, 3), np.uint8)
    assert optical_flow(clip, "farneback").shape == (2, 16, 16, FLOW_CHANNELS)
    array, _ = compute("flow", clip, KindParams(flow=FlowParams(method="farneback")))
    assert array.shape[-1] == KIND_CHANNELS["flow"]
