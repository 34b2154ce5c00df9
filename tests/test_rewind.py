"""Stepping back is exact: a rewound run is the run as it was at that epoch (parameters,
gradients, optimizer state, hyperparameters, history, best validation, divergence), so
stepping on replays it bit for bit, and a view of the past shows what was true then."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.training.history import LossHistory
from engine.training.session import session_from_text, session_json
from engine.training.trainer import Hyperparameters, Setup, Trainer

RUNS = {
    "sgd": (Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2)),
    "adam": (Setup(input_transform="scale"), Hyperparameters(optimizer="adam", learning_rate=0.1)),
    "momentum+nesterov+wd": (Setup(input_transform="scale"),
                             Hyperparameters(learning_rate=1e-3, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam-mlp-split": (Setup(model="mlp:8", input_transform="standardize", val_fraction=0.3, split_seed=3),
                       Hyperparameters(optimizer="adam", learning_rate=0.05)),
    "poly-early-stopping": (Setup(dataset="overfit", model="poly:7", input_transform="standardize", val_fraction=0.3),
                            Hyperparameters(optimizer="adam", learning_rate=0.05, early_stopping=True,
                                            overfit_patience=20)),
    "accumulating-grads": (Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-4, zero_grad=False)),
    "diverging": (Setup(), Hyperparameters(learning_rate=1e-2)),
    "sgd-batch4": (Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2, batch_size=4)),
    "adam-mlp-split-batch3": (Setup(model="mlp:8", input_transform="standardize", val_fraction=0.3, split_seed=3,
                                    batch_seed=5), Hyperparameters(optimizer="adam", learning_rate=0.05, batch_size=3)),
    "poly-early-stopping-batch2": (Setup(dataset="overfit", model="poly:7", input_transform="standardize",
                                         val_fraction=0.3),
                                   Hyperparameters(optimizer="adam", learning_rate=0.05, early_stopping=True,
                                                   overfit_patience=20, batch_size=2)),
    "diverging-batch4": (Setup(), Hyperparameters(learning_rate=7e-4, batch_size=4)),
}


def same(a, b) -> bool:
    """Equal, bit for bit, all the way down (arrays by dtype, shape and every value)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


def same_snapshot(a, b) -> bool:
    """What every panel shows: numbers, parameters, gradients, steps, curves, tracking."""
    return (same(dict(a.params), dict(b.params)) and same(dict(a.grads), dict(b.grads))
            and same(dict(a.update), dict(b.update))
            and same([a.epoch, a.train_loss, a.val_loss, a.state, a.best_val_epoch, a.best_val_loss,
                      a.overfitting_since, a.stopped_early, a.warning, a.raw_line, a.hyper],
                     [b.epoch, b.train_loss, b.val_loss, b.state, b.best_val_epoch, b.best_val_loss,
                      b.overfitting_since, b.stopped_early, b.warning, b.raw_line, b.hyper])
            and same([a.history.epochs, a.history.train_loss, a.history.val_loss, a.history.total_epochs],
                     [b.history.epochs, b.history.train_loss, b.history.val_loss, b.history.total_epochs])
            and same([a.batch_history.epochs, a.batch_history.train_loss, a.batch_history.total_epochs,
                      a.step_count, a.steps_per_epoch],
                     [b.batch_history.epochs, b.batch_history.train_loss, b.batch_history.total_epochs,
                      b.step_count, b.steps_per_epoch])
            and same(a.fit_y, b.fit_y) and a.divergence == b.divergence)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_stepping_on_after_a_rewind_replays_the_same_run(name):
    setup, hyper = RUNS[name]
    straight, rewound = Trainer(setup, hyper), Trainer(setup, hyper)
    straight.train(120)
    rewound.train(120)
    assert rewound.rewind(3) == min(rewound.epoch, 117)
    rewound.train(straight.epoch - rewound.epoch)
    assert same(rewound.state_dict(), straight.state_dict())
    assert same_snapshot(rewound.snapshot(), straight.snapshot())


def test_adams_first_step_after_a_rewind_is_not_a_fresh_adams():
    """The issue's case: Adam's first step is exactly lr; after a rewind it must not be."""
    trainer = Trainer(*RUNS["adam"])
    trainer.train(100)
    trainer.rewind(3)
    trainer.step()
    step = trainer.snapshot().update
    assert abs(float(step["w"])) != pytest.approx(0.1, abs=1e-7)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_after_a_rewind_every_number_is_the_one_shown_going_forward(name):
    trainer = Trainer(*RUNS[name])
    shown = {}
    for _ in range(60):
        shown[trainer.epoch] = trainer.snapshot()
        trainer.step()
    for back in (1, 3, 26):
        epoch = trainer.rewind(back)
        assert same_snapshot(trainer.snapshot(), shown[epoch]), f"epoch {epoch}"


def test_a_rewind_restores_the_hyperparameters_then_in_force():
    trainer = Trainer(*RUNS["sgd"])
    trainer.train(10)
    trainer.set_hyperparameters(optimizer="adam", learning_rate=0.05)
    trainer.train(5)
    trainer.rewind(5)  # epoch 10 ended with the switch to Adam, before Adam took a step
    assert trainer.hyper.optimizer == "adam" and trainer.hyper.learning_rate == 0.05
    assert trainer.optimizer.state == {}
    trainer.rewind(1)
    assert trainer.hyper.optimizer == "sgd" and trainer.hyper.learning_rate == 1e-2


def test_rewinding_across_a_merge_of_the_history_restores_it_exactly():
    history = LossHistory(capacity=8)
    marks = []
    for epoch in range(1, 40):
        history.append(epoch, 100.0 / epoch, None)
        marks.append((history.mark(), history.to_dict()))
    for mark, then in reversed(marks[-6:]):  # history merges at epochs 8, 16, 32: one of these crosses it
        history.restore(mark)
        assert same(history.to_dict(), then)


# ---------------------------------------------------------------------- the property
ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("step"), st.integers(1, 12)),
    st.tuples(st.just("lr"), st.sampled_from([0.5, 2.0, 10.0])),
    st.tuples(st.just("optimizer"), st.sampled_from(["sgd", "adam"])),
    st.tuples(st.just("momentum"), st.sampled_from([0.0, 0.9])),
    st.tuples(st.just("zero_grad"), st.booleans()),
    st.tuples(st.just("batch"), st.sampled_from([None, 1, 3, 4, 16])),
    st.tuples(st.just("save_load"), st.just(0)),
), min_size=1, max_size=14)


def apply(trainer: Trainer, action) -> Trainer:
    kind, value = action
    if kind == "step":
        trainer.train(value)
    elif kind == "lr":
        trainer.set_hyperparameters(learning_rate=min(trainer.hyper.learning_rate * value, 1.0))
    elif kind == "optimizer":
        trainer.set_hyperparameters(optimizer=value, nesterov=False)
    elif kind == "momentum" and trainer.hyper.optimizer == "sgd":
        trainer.set_hyperparameters(momentum=value, nesterov=False)
    elif kind == "zero_grad":
        trainer.set_hyperparameters(zero_grad=value)
    elif kind == "batch":
        trainer.set_hyperparameters(batch_size=value)
    elif kind == "save_load":
        trainer, _ = session_from_text(session_json(trainer))
    return trainer


def epochs_of(actions) -> list:
    """The actions one epoch at a time (a step of n is n steps of one)."""
    return [one for a in actions for one in ([("step", 1)] * a[1] if a[0] == "step" else [a])]


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(actions=ACTIONS, model=st.sampled_from(["line", "mlp"]), where=st.floats(0, 1), back=st.integers(1, 20),
       batch=st.sampled_from([None, 2, 4]), capacity=st.sampled_from([8, 2048]))
def test_a_rewind_and_replay_is_the_run_without_it(actions, model, where, back, batch, capacity):
    # capacity 8: the histories merge every few epochs (every few steps for the batch losses),
    # so a rewind often crosses several merges.
    setup = (Setup(input_transform="scale", batch_seed=1) if model == "line"
             else Setup(model="mlp:4", input_transform="standardize", val_fraction=0.3))
    hyper = Hyperparameters(learning_rate=1e-3, batch_size=batch)
    log = epochs_of(actions)
    straight = Trainer(setup, hyper, history_capacity=capacity)
    for action in log:
        straight = apply(straight, action)

    replayed = Trainer(setup, hyper, history_capacity=capacity)
    cut = int(where * len(log))
    for action in log[:cut]:
        replayed = apply(replayed, action)
    # Step back over the last `back` epochs (or as many as there are), then do again what
    # was done since the epoch it reaches.
    steps = [i for i, action in enumerate(log[:cut]) if action[0] == "step"]
    back = min(back, len(steps), replayed.rewind_depth)
    if back:
        replayed.rewind(back)
        for action in log[steps[-back]:cut]:
            replayed = apply(replayed, action)
    for action in log[cut:]:
        replayed = apply(replayed, action)
    assert same(replayed.state_dict(), straight.state_dict())
    assert same_snapshot(replayed.snapshot(), straight.snapshot())
