"""The trainer's core, edge by edge: where a split is possible and what it holds, the state
a run is in after each kind of step, early stopping's patience, and runs restored from files
that predate a field. Each test names a behaviour a mutation of trainer.py once got past."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from engine.training.trainer import Hyperparameters, SettingError, Setup, Trainer, make_split

N = 11  # the thermometer's points


def split(**fields):
    return make_split(Setup(**fields).validate(), N)


# ---------------------------------------------------------------------- splits
def test_an_explicit_split_may_use_the_last_point_but_not_one_past_it():
    s = split(train_indices=(0, 10), val_indices=(5,))
    assert s.train.tolist() == [0, 10] and s.val.tolist() == [5] and s.train.dtype == np.int64
    with pytest.raises(SettingError) as refused:
        split(train_indices=(0, 11), val_indices=(5,))
    assert str(refused.value) == "split index 11 is outside the data's points 0..10"


def test_an_explicit_split_needs_two_training_points_and_no_point_twice():
    assert split(train_indices=(3, 4), val_indices=(5,)).train.size == 2
    with pytest.raises(SettingError, match=r"^the training split needs at least 2 points$"):
        split(train_indices=(3,), val_indices=(5,))
    with pytest.raises(SettingError, match=r"^a point cannot be both in training and validation \(or twice in one\)$"):
        split(train_indices=(3, 4), val_indices=(4,))


@pytest.mark.parametrize("fraction, n_val", [(0.1, 1), (0.2, 2), (0.5, 5), (0.85, 9)])
def test_a_fraction_validates_the_last_int_fraction_n_of_a_seeded_shuffle(fraction, n_val):
    s = split(val_fraction=fraction, split_seed=4)
    order = np.random.default_rng(4).permutation(N)
    assert s.val.tolist() == order[-n_val:].tolist() and s.train.tolist() == order[:-n_val].tolist()


def test_a_fraction_must_leave_one_point_to_validate_and_two_to_train():
    with pytest.raises(SettingError) as none_left:
        split(val_fraction=0.05)
    assert str(none_left.value) == "validation fraction 0.05 of 11 points leaves no validation point"
    with pytest.raises(SettingError) as too_few:
        split(val_fraction=0.95)
    assert str(too_few.value) == "validation fraction 0.95 of 11 points leaves fewer than 2 to train on"


# ---------------------------------------------------------------------- states
def test_a_trained_run_is_paused_and_a_rewound_running_frame_is_paused_too():
    trainer = Trainer(Setup(input_transform="scale"))
    assert trainer.state == "ready"
    trainer.train(2)
    assert trainer.state == "paused"
    trainer.state = "running"  # as the runner sets it while it plays
    trainer.train(3)
    assert trainer.rewind(2) == 3 and trainer.state == "paused"


def test_a_diverging_run_warns_nothing_whether_stepped_or_trained():
    for go in (lambda t: [t.step() for _ in range(15)], lambda t: t.train(15)):
        trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-2))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a numpy overflow warning would fail here
            go(trainer)
        assert trainer.state == "diverged" and trainer.divergence.epoch == 11


def test_the_budget_finishes_a_run_at_exactly_its_last_epoch():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=7))
    trainer.train(6)
    assert trainer.state == "paused"
    trainer.train(5)
    assert trainer.epoch == 7 and trainer.state == "finished"


# ---------------------------------------------------------------------- early stopping
OVERFIT = (Setup(dataset="overfit", model="poly:7", input_transform="standardize", val_fraction=0.3),
           Hyperparameters(optimizer="adam", learning_rate=0.05, early_stopping=True, overfit_patience=40,
                           epochs=3000))


def test_early_stopping_waits_its_patience_after_the_best_epoch():
    trainer = Trainer(*OVERFIT)
    trainer.train(3000)
    s = trainer.snapshot()
    assert s.stopped_early and s.stopped_at is not None
    assert s.stopped_at - s.best_val_epoch >= 40  # not at the first epoch that failed to improve
    history = trainer.history.columns()
    val = history["val"][history["epoch"] <= s.stopped_at]
    assert val.min() == s.best_val_loss == s.val_loss  # the restored epoch is the lowest one seen


def test_a_stop_restored_from_a_file_without_the_best_epochs_loss_and_gradients_is_the_same():
    """Files written before the best epoch kept its losses and gradients: the trainer
    measures them again at the restored parameters, and gets the very same numbers."""
    straight, resumed = Trainer(*OVERFIT), Trainer(*OVERFIT)
    straight.train(3000)
    best = straight.snapshot().best_val_epoch
    resumed.train(best + 5)  # past the best epoch, before the stop: the file's record is the one restored
    state = resumed.state_dict()
    assert state["best_val"]["epoch"] == best
    state["best_val"].pop("grads"), state["best_val"].pop("train_loss")
    resumed = Trainer.from_state(*OVERFIT, state)
    resumed.train(3000)
    a, b = straight.snapshot(), resumed.snapshot()
    assert a.stopped_at == b.stopped_at and a.epoch == b.epoch
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss
    assert all(np.array_equal(a.grads[n], b.grads[n]) and np.array_equal(a.params[n], b.params[n]) for n in a.params)
