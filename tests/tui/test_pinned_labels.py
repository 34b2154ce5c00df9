"""What a pinned run's legend entry says: what differs from the run on screen, most telling
first; and a pinned run's numbers read from its own recorded history."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.training.setup_string import format_setup_string
from engine.training.trainer import BestValidation, Hyperparameters, Setup
from tui.ghosts import Ghost, difference_label, differences, with_best_row

NOW = (Setup(input_transform="scale", input_scale=0.1), Hyperparameters(learning_rate=1e-2))


@pytest.mark.parametrize("setup_changes, hyper_changes, told", [
    ({}, {}, []),
    ({}, {"learning_rate": 1e-4}, ["lr 0.0001"]),
    ({}, {"optimizer": "adam", "learning_rate": 0.1}, ["Adam", "lr 0.1"]),
    ({}, {"momentum": 0.9}, ["SGD m0.9"]),
    ({}, {"momentum": 0.9, "nesterov": True}, ["Nesterov 0.9"]),
    ({"input_transform": "none"}, {}, ["raw"]),
    ({"input_transform": "standardize"}, {}, ["std input"]),
    ({"input_scale": 0.01}, {}, ["0.01×raw"]),
    ({"model": "mlp:8"}, {}, ["mlp:8"]),
    ({"dataset": "curve", "model": "poly:2"}, {}, ["curve", "poly:2"]),
    ({"val_fraction": 0.3}, {}, ["val 30%"]),
    ({"train_indices": (0, 1, 2), "val_indices": (3, 4)}, {}, ["split 3/2"]),
    ({}, {"zero_grad": False}, ["no zero_grad"]),
    ({"dtype": "float64"}, {"weight_decay": 0.01}, ["wd 0.01", "float64"]),
    ({}, {"epochs": 100}, ["100 epochs"]),
    ({}, {"early_stopping": True}, ["early stop on"]),
    ({}, {"optimizer": "adam", "beta1": 0.5, "beta2": 0.9}, ["Adam", "β 0.5/0.9"]),
    ({"model": "mlp:8", "init_seed": 4}, {}, ["mlp:8", "init seed 4"]),
    ({"dataset": "csv:/data/lab.csv", "x_column": "t", "y_column": 3}, {}, ["lab.csv t/3"]),
])
def test_what_differs_is_told_from_the_pinned_runs_side(setup_changes, hyper_changes, told):
    pinned = (replace(NOW[0], **setup_changes), replace(NOW[1], **hyper_changes))
    assert differences(pinned, *NOW) == told


def test_the_split_seed_counts_only_for_a_random_split():
    with_split = replace(NOW[0], val_fraction=0.2)
    assert differences((replace(with_split, split_seed=3), NOW[1]), with_split, NOW[1]) == ["split seed 3"]
    assert differences((replace(NOW[0], split_seed=3, init_seed=3), NOW[1]), *NOW) == []  # the line: no effect


def test_the_batch_size_and_its_seed_are_told():
    batched = replace(NOW[1], batch_size=4)
    assert differences((NOW[0], batched), *NOW) == ["batch 4"]
    assert differences(NOW, NOW[0], batched) == ["full batch"]
    assert differences((replace(NOW[0], batch_seed=2), batched), NOW[0], batched) == ["batch seed 2"]
    assert differences((replace(NOW[0], batch_seed=2), NOW[1]), *NOW) == []  # full batches: nothing shuffles
    pinned = ghost(format_setup_string(NOW[0], batched))  # kept as a setup string: batch=4 comes back
    assert difference_label(pinned, *NOW) == "batch 4"


def ghost(settings: str | None, label: str = "linear, 0.1 × raw, SGD lr 0.01") -> Ghost:
    return Ghost(label, np.arange(1.0, 4.0), np.array([3.0, 2.0, 1.0]), settings=settings)


def test_the_legend_entry_is_short_and_says_same_settings_when_nothing_differs():
    setup, hyper = NOW
    assert difference_label(ghost(format_setup_string(setup, hyper)), setup, hyper) == "same settings"
    many = format_setup_string(replace(setup, model="mlp:24", input_transform="none", val_fraction=0.5),
                               replace(hyper, optimizer="adam", learning_rate=0.05))
    label = difference_label(ghost(many), setup, hyper)
    assert label == "mlp:24, raw, Adam, lr…" and len(label) == 22
    assert difference_label(ghost(None, "an old label"), setup, hyper) == "an old label"  # saved before settings


def test_best_validation_and_final_train_come_from_the_recorded_arrays():
    g = Ghost("x", np.array([1.0, 2.0, 5.0, 9.0]), np.array([4.0, 3.0, 2.0, np.inf]),
              np.array([5.0, 2.5, 2.5, np.nan]))
    assert g.final_train_loss == np.inf
    assert g.best_validation == (2.5, 2)  # the earlier of a tie, as the trainer counts
    assert Ghost("x", np.arange(2.0), np.ones(2)).best_validation is None
    assert Ghost("x", np.arange(2.0), np.ones(2), np.full(2, np.nan)).best_validation is None


def test_the_best_epochs_row_is_put_back_where_thinning_skipped_it():
    epochs, train, val = np.array([1.0, 4.0, 8.0]), np.array([9.0, 7.0, 6.0]), np.array([5.0, 3.0, 4.0])
    best = BestValidation(epoch=6, val_loss=2.0, train_loss=6.5)
    e, t, v = with_best_row(epochs, train, val, best)
    assert e.tolist() == [1, 4, 6, 8] and t.tolist() == [9, 7, 6.5, 6] and v.tolist() == [5, 3, 2, 4]
    kept = with_best_row(epochs, train, val, BestValidation(epoch=4, val_loss=3.0, train_loss=7.0))
    assert all(a is b for a, b in zip(kept, (epochs, train, val)))  # already there: unchanged
    assert with_best_row(epochs, train, None, best)[2] is None
