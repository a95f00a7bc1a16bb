"""Ray Train settings the training driver chooses (no Ray started)."""

from __future__ import annotations

from components.training.runtime import CONTROLLER_POLL_S, default_controller_poll


def test_the_controller_polls_every_half_second_unless_the_user_said_otherwise() -> None:
    environ: dict[str, str] = {}
    default_controller_poll(environ)
    assert environ == {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": CONTROLLER_POLL_S}

    chosen = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "5"}
    default_controller_poll(chosen)
    assert chosen == {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "5"}
