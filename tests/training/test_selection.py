"""Model selection: the best validation epoch's weights are the model; early stopping."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from components.training.session import Session, restore_session, session_state
from training._fixtures import teacher_config


def _session(epochs: int = 6, patience: int = 2, with_val: bool = True) -> Session:
    plan = type("Plan", (), {})()
    plan.config = dataclasses.replace(teacher_config(), epochs=epochs, patience=patience)
    plan.eval = ("a video",) if with_val else ()
    plan.eval_prefix = "val"
    model = nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return Session(plan=plan, model=model, optimizer=opt,  # type: ignore[arg-type]
                   scheduler=torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0),
                   scaler=torch.amp.GradScaler("cuda", enabled=False), task=None,
                   train_set=None, eval_set=None, device=torch.device("cpu"))


def _epoch(session: Session, epoch: int, top1: float, loss: float) -> None:
    with torch.no_grad():
        session.model.weight.fill_(float(epoch))  # the weights say which epoch they are
    session.epoch = epoch
    session.consider(epoch, {"val/top1": top1, "val/loss": loss})


def test_the_best_epoch_is_kept_and_ties_go_to_the_lower_loss_then_the_later_epoch() -> None:
    session = _session()
    for epoch, top1, loss in [(1, 0.5, 1.0), (2, 0.9, 0.5), (3, 0.9, 0.6), (4, 0.9, 0.4)]:
        _epoch(session, epoch, top1, loss)
    assert session.best_epoch == 4  # same top-1 as epoch 2, lower loss
    _epoch(session, 5, 0.8, 0.1)
    assert session.best_epoch == 4 and not session.should_stop()
    _epoch(session, 6, 0.85, 0.1)
    assert session.should_stop()  # the last epoch
    session.restore_best()
    assert float(session.model.weight[0, 0].detach()) == 4.0


def test_patience_stops_early() -> None:
    session = _session(epochs=20, patience=2)
    _epoch(session, 1, 0.9, 0.2)
    _epoch(session, 2, 0.5, 0.9)
    assert not session.should_stop()
    _epoch(session, 3, 0.5, 0.9)
    assert session.should_stop()
    assert not _session(epochs=20, patience=0).should_stop()


def test_the_mei_papers_rule_stops_once_validation_passes_the_threshold() -> None:
    session = _session(epochs=50, patience=0)
    session.plan.config = dataclasses.replace(session.plan.config, stop_at_top1=0.9)
    assert not session.end_epoch(1, {"val/top1": 0.6, "val/loss": 1.0})
    assert not session.end_epoch(2, {"val/top1": 0.89, "val/loss": 0.5})
    assert session.end_epoch(3, {"val/top1": 0.9, "val/loss": 0.4})
    assert session.best_epoch == 3
    off = _session(epochs=50, patience=0)
    assert not off.end_epoch(1, {"val/top1": 1.0, "val/loss": 0.0})


def test_without_validation_the_last_epoch_is_the_model() -> None:
    session = _session(with_val=False)
    _epoch(session, 1, 0.9, 0.1)
    _epoch(session, 2, 0.1, 9.0)
    assert session.best_epoch == 2 and session.best_model is None
    session.restore_best()
    assert float(session.model.weight[0, 0].detach()) == 2.0


def test_the_best_weights_survive_a_checkpoint_and_are_stored_once() -> None:
    session = _session()
    _epoch(session, 1, 0.9, 0.1)
    state = session_state(session, [])
    assert state["best"]["model"] is None  # the best is this epoch: "model" holds it
    _epoch(session, 2, 0.5, 0.9)
    state = session_state(session, [])
    assert state["best"]["model"] is not None and state["best"]["epoch"] == 1
    for current in (state, session_state(_first_epoch_session(), [])):
        restored = _session()
        restore_session(restored, current, rank=0)
        restored.restore_best()
        assert float(restored.model.weight[0, 0].detach()) == 1.0


def _first_epoch_session() -> Session:
    session = _session()
    _epoch(session, 1, 0.9, 0.1)
    return session
