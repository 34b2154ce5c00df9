"""Mini-batches: a batch size N shuffles the training points every epoch with the run's own
seeded numpy generator and takes ceil(n / N) optimizer steps, one per batch; the epoch's
training loss is the mean of its batch losses, the validation loss is measured once per
epoch on every validation point. Full batch (the default) is the book's loop, untouched.

The oracle is PyTorch: tests/reference/minibatch_traces.json holds runs recorded with it by
record_minibatch_traces.py (a hand-written PyTorch loop shuffling with numpy).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from engine.training.history import LossHistory
from engine.training.session import session_from_text, session_json
from engine.training.trainer import Hyperparameters, SettingError, Setup, Trainer

TRACES = json.loads((Path(__file__).parent / "reference" / "minibatch_traces.json").read_text())
CASES = {case["name"]: case for case in TRACES["cases"]}


def trainer_for(case: dict) -> Trainer:
    transform = {"scale": "scale", "standardize": "standardize", "raw": "none"}[case["input"]]
    setup = Setup(model=case["model"], input_transform=transform, val_fraction=case["val_fraction"],
                  split_seed=case["split_seed"], init_seed=case.get("init_seed", 0), batch_seed=case["batch_seed"])
    kwargs = case["kwargs"]
    hyper = Hyperparameters(optimizer=case["optimizer"].lower(), learning_rate=kwargs["lr"],
                            momentum=kwargs.get("momentum", 0.0), batch_size=case["batch_size"])
    return Trainer(setup, hyper)


def relative_error(got, expected) -> float:
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)))


# ---------------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_minibatch_run_follows_pytorchs(name):
    """Same shuffles, same batches, same steps: every batch loss, every epoch's mean and
    validation loss, and the parameters after each epoch agree with PyTorch's to float32
    rounding (sums in another order: 2e-6 relative for SGD; Adam magnifies a tiny gradient's
    rounding, as test_torch_traces.py measured: 4e-5). Observed at most 5.3e-7. A single batch
    loss of one to four points is a squared difference of nearly equal numbers, which magnifies
    a parameter's last-bit difference: observed 7.2e-6, allowed 2e-5. A shuffle drawn from
    another generator state, or a step per epoch instead of per batch, is off by 1e-2 or more."""
    case = CASES[name]
    trainer = trainer_for(case)
    assert trainer.split.train.tolist() == case["train_indices"]
    tolerance = 4e-5 if case["optimizer"] == "Adam" else 2e-6
    steps = 0
    for epoch, recorded in enumerate(case["epochs_recorded"], 1):
        trainer.step()
        steps += len(recorded["batch_losses"])
        last = trainer.last_epoch
        assert trainer.steps == steps
        assert relative_error(last.train_loss, recorded["train_loss"]) <= tolerance, epoch
        if recorded["val_loss"] is None:
            assert last.val_loss is None
        else:
            assert relative_error(last.val_loss, recorded["val_loss"]) <= tolerance, epoch
        params = [p.data.reshape(-1) for _, p in trainer.model.named_parameters()]
        for got, expected in zip(params, recorded["params"]):
            assert relative_error(got, expected) <= tolerance, (epoch, got, expected)
    batches = trainer.batch_history.columns()["train"]
    recorded = [loss for epoch in case["epochs_recorded"] for loss in epoch["batch_losses"]]
    assert relative_error(batches, recorded) <= 2e-5


# ---------------------------------------------------------------------- the epoch's arithmetic
def test_an_epoch_takes_ceil_n_over_n_steps_and_its_loss_is_the_mean_of_its_batches():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(batch_size=4))
    assert trainer.steps_per_epoch() == 3 and trainer.snapshot().steps_per_epoch == 3  # 11 points: 4 + 4 + 3
    trainer.train(5)
    snap = trainer.snapshot()
    assert trainer.steps == snap.step_count == 15
    batch = snap.batch_history
    assert batch.total_epochs == 15
    # step j of 3 in epoch e sits at e - 1 + j / 3: the epoch's last batch at the epoch itself
    assert batch.epochs.tolist() == [e - 1 + j / 3 for e in range(1, 6) for j in (1, 2, 3)]
    last_three = batch.train_loss[-3:]
    assert snap.train_loss == (last_three[0] + last_three[1] + last_three[2]) / 3


def test_the_shuffles_come_from_the_runs_own_seeded_generator():
    """Two runs with the same batch seed are the same; another seed shuffles otherwise."""
    def run(seed):
        trainer = Trainer(Setup(input_transform="scale", batch_seed=seed), Hyperparameters(batch_size=2))
        trainer.train(3)
        return trainer.batch_history.columns()["train"]

    assert np.array_equal(run(4), run(4)) and not np.array_equal(run(4), run(5))


def test_full_batch_is_the_books_loop_and_draws_nothing():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters())
    before = trainer._batch_rng.bit_generator.state
    trainer.train(50)
    assert trainer._batch_rng.bit_generator.state == before
    assert trainer.steps == 50 and trainer.batch_history.total_epochs == 0 and len(trainer.snapshot().batch_history) == 0
    assert trainer.snapshot().steps_per_epoch == 1


def test_a_batch_bigger_than_the_data_is_one_shuffled_step():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(batch_size=16))
    trainer.train(4)
    assert trainer.steps == 4 and trainer.steps_per_epoch() == 1
    full = Trainer(Setup(input_transform="scale"), Hyperparameters())
    full.train(4)
    # the same points in another order: the same line, to float32 rounding of the sums
    assert float(trainer.model.w.data) == pytest.approx(float(full.model.w.data), rel=1e-5)


def test_validation_is_measured_once_an_epoch_on_every_validation_point_where_the_epoch_starts():
    trainer = Trainer(Setup(input_transform="scale", val_fraction=0.3), Hyperparameters(batch_size=2))
    trainer.train(3)
    start = trainer.current_loss()[1]  # the whole validation set at the parameters epoch 4 starts from
    trainer.step()
    assert trainer.last_epoch.val_loss == start
    assert trainer.steps_per_epoch() == 4  # 8 training points, 3 validate


def test_changing_the_batch_size_continues_the_run():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(optimizer="adam", learning_rate=0.1))
    trainer.train(10)
    trainer.set_hyperparameters(batch_size=1)
    assert trainer.epoch == 10 and trainer.optimizer.state  # Adam's moments kept
    trainer.train(2)
    assert trainer.steps == 10 + 2 * 11
    assert trainer.state_dict()["optimizer"]["state"][0]["step"] == 32
    trainer.set_hyperparameters(batch_size=None)
    trainer.step()
    assert trainer.steps == 33 and trainer.batch_history.total_epochs == 22  # full-batch steps keep no batch loss


@pytest.mark.parametrize("size", [0, -3, 2.5, True, "4"])
def test_a_bad_batch_size_is_refused(size):
    with pytest.raises(SettingError, match="batch size must be a whole number"):
        Hyperparameters(batch_size=size).validate()


# ---------------------------------------------------------------------- per epoch, as before
def test_a_minibatch_run_diverges_at_an_epoch_and_says_why():
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=7e-4, batch_size=4))  # raw readings
    trainer.train(100)
    snap = trainer.snapshot()
    assert snap.state == "diverged" and snap.divergence.epoch == 13 == trainer.epoch
    assert math.isinf(snap.divergence.loss) and snap.train_loss == math.inf
    hi, lo, ratio = snap.divergence.grad_ratio()
    assert (hi, lo) == ("w", "b") and ratio > 10
    # the diverging epoch stopped at its first batch whose loss overflowed
    losses = trainer.batch_history.columns()["train"]
    assert math.isinf(losses[-1]) and np.all(np.isfinite(losses[:-1]))
    assert trainer.steps < 13 * 3


def test_early_stopping_works_per_epoch_with_batches():
    setup = Setup(dataset="overfit", model="poly:7", input_transform="standardize", val_fraction=0.3)
    trainer = Trainer(setup, Hyperparameters(optimizer="adam", learning_rate=0.05, early_stopping=True,
                                             overfit_patience=20, batch_size=2))
    trainer.train(2000)
    snap = trainer.snapshot()
    assert snap.stopped_early and snap.state == "finished"
    best = snap.best_val_epoch
    assert snap.epoch == best and snap.stopped_at > best
    assert snap.step_count == best * trainer.steps_per_epoch() < trainer.steps  # the steps at the best epoch
    assert snap.val_loss == snap.best_val_loss


# ---------------------------------------------------------------------- bounded, rewindable
def test_the_batch_losses_are_bounded_like_the_rest_of_the_history():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(batch_size=1), history_capacity=16)
    trainer.train(40)  # 440 steps into 16 buckets
    assert trainer.batch_history.total_epochs == 440
    assert len(trainer.batch_history) <= 16 and len(trainer.history) <= 16
    view = trainer.snapshot().batch_history
    assert view.epochs[-1] == 40.0 and view.train_loss[-1] == trainer.batch_history.columns()["train"][-1]


def test_a_rewind_across_several_merges_of_the_batch_losses_is_exact():
    """With batch 1 the batch history merges every few epochs: stepping back over several
    merges restores it exactly (each merge kept the buckets it replaced)."""
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(batch_size=1), history_capacity=8)
    seen = {}
    for _ in range(30):
        trainer.step()
        seen[trainer.epoch] = (trainer.batch_history.to_dict(), trainer.history.to_dict(), trainer.steps)
    for back in (1, 4, 20):
        epoch = trainer.rewind(back)
        batches, history, steps = seen[epoch]
        assert trainer.steps == steps
        for now, then in ((trainer.batch_history.to_dict(), batches), (trainer.history.to_dict(), history)):
            assert now["bucket_width"] == then["bucket_width"] and now["open"] == then["open"]
            for name, column in then["buckets"].items():
                assert np.array_equal(now["buckets"][name], column, equal_nan=True), name


def test_history_forgets_the_copies_no_frame_can_need():
    history = LossHistory(capacity=4)
    for epoch in range(1, 200):
        history.append(epoch, 1.0 / epoch)
    assert len(history._undo) == history.generation  # every merge kept, until told
    history.forget_merges_before(history.generation - 1)
    assert [g for g, _ in history._undo] == [history.generation - 1]


def test_a_session_carries_the_generator_and_continues_bit_for_bit():
    setup, hyper = Setup(model="mlp:4", input_transform="standardize", val_fraction=0.3, batch_seed=9), \
        Hyperparameters(optimizer="adam", learning_rate=0.02, batch_size=3)
    straight = Trainer(setup, hyper)
    straight.train(40)
    saved = Trainer(setup, hyper)
    saved.train(25)
    loaded, _ = session_from_text(session_json(saved))
    loaded.train(15)
    a, b = straight.state_dict(), loaded.state_dict()
    assert a["steps"] == b["steps"] == 40 * 3 and a["batch_rng"] == b["batch_rng"]
    assert all(np.array_equal(x, y) for x, y in zip(a["params"], b["params"]))
    for name in ("history", "batch_history"):
        for column, values in a[name]["buckets"].items():
            assert np.array_equal(values, b[name]["buckets"][column], equal_nan=True), (name, column)
    loaded.rewind(20)  # the saved frames came along: stepping back past the load is exact too
    straight.rewind(20)
    assert loaded.state_dict()["batch_rng"] == straight.state_dict()["batch_rng"]


def test_a_version_2_session_loads_as_the_full_batch_run_it_was():
    """Files written before mini-batches have no steps, generator or batch losses."""
    trainer = Trainer(Setup(input_transform="scale", batch_seed=4), Hyperparameters())
    trainer.train(30)
    doc = json.loads(session_json(trainer))
    doc["version"] = 2
    del doc["trainer"]["steps"], doc["trainer"]["batch_rng"], doc["trainer"]["batch_history"]
    del doc["setup"]["batch_seed"], doc["hyperparameters"]["batch_size"]
    for frame in doc["trainer"]["rewind"]:
        del frame["steps"], frame["batch_rng"], frame["batch_history_mark"], frame["hyper"]["batch_size"]
        frame["best_val"].pop("steps")
    doc["trainer"]["best_val"].pop("steps")
    loaded, _ = session_from_text(json.dumps(doc))
    assert loaded.steps == 30 and loaded.setup.batch_seed == 0 and loaded.hyper.batch_size is None
    loaded.rewind(5)
    assert loaded.steps == 25
    loaded.train(5)
    assert np.array_equal(loaded.model.w.data, trainer.model.w.data)


def test_a_batch_size_that_would_make_an_epoch_too_long_is_refused():
    """An epoch runs whole between two commands: at most MAX_STEPS_PER_EPOCH steps."""
    from data import Dataset
    from engine.training.trainer import MAX_STEPS_PER_EPOCH

    x = np.linspace(0.0, 10.0, 2 * MAX_STEPS_PER_EPOCH + 1)
    points = Dataset("many", x, 2 * x + 1, "x", "y", "", "")
    setup = Setup(dataset="many", input_transform="standardize")
    with pytest.raises(SettingError, match="batch size 2 would take 1,001 steps an epoch on 2,001 training points; "
                                           "at most 1,000: a batch of 3 or more"):
        Trainer(setup, Hyperparameters(batch_size=2), dataset=points)
    trainer = Trainer(setup, Hyperparameters(batch_size=3), dataset=points)
    assert trainer.steps_per_epoch() == 667  # ceil(2001 / 3)
    with pytest.raises(SettingError, match="at most 1,000"):
        trainer.set_hyperparameters(batch_size=1)
    assert trainer.hyper.batch_size == 3  # refused: nothing changed
    exactly = Dataset("many", x[:-1], 2 * x[:-1] + 1, "x", "y", "", "")  # 2,000 points in batches of 2
    assert Trainer(setup, Hyperparameters(batch_size=2), dataset=exactly).steps_per_epoch() == MAX_STEPS_PER_EPOCH


def test_a_merged_batch_history_survives_a_session_and_a_rewind_after_it():
    """Small histories merge often: the open bucket of batch losses (its position a fraction
    of an epoch) and every frame's mark come back from the file exactly."""
    setup, hyper = Setup(input_transform="scale", batch_seed=3), Hyperparameters(batch_size=1)
    straight = Trainer(setup, hyper, history_capacity=8)
    straight.train(7)  # 77 steps: buckets 16 wide, one open
    assert straight.batch_history.to_dict()["open"] is not None
    loaded, _ = session_from_text(session_json(straight))
    assert loaded.batch_history.to_dict()["open"] == straight.batch_history.to_dict()["open"]
    # an open bucket ends at an epoch's last step: a whole number, kept as the float it is
    assert loaded.batch_history.to_dict()["open"][0] == 7.0 and loaded.batch_history.view().epochs.dtype == np.float64
    back = min(loaded.rewind_depth, 2)
    assert back >= 1
    for trainer in (straight, loaded):
        trainer.rewind(back)
        trainer.train(back + 3)
    for name in ("history", "batch_history"):
        a, b = getattr(straight, name).to_dict(), getattr(loaded, name).to_dict()
        assert a["open"] == b["open"] and a["total_epochs"] == b["total_epochs"]
        for column in a["buckets"]:
            assert np.array_equal(a["buckets"][column], b["buckets"][column], equal_nan=True)


def test_early_stopping_with_batches_restores_the_epochs_own_numbers_after_a_load():
    """The restored epoch's training loss is its batch mean and its gradients its last
    batch's, whether the run stopped straight through or after a save and a load."""
    setup = Setup(dataset="overfit", model="poly:7", input_transform="standardize", val_fraction=0.3)
    hyper = Hyperparameters(optimizer="adam", learning_rate=0.05, early_stopping=True, overfit_patience=20,
                            batch_size=2)
    straight = Trainer(setup, hyper)
    straight.train(2000)
    saved = Trainer(setup, hyper)
    saved.train(straight.snapshot().best_val_epoch + 5)  # past the best epoch, before stopping
    loaded, _ = session_from_text(session_json(saved))
    loaded.train(2000)
    a, b = straight.snapshot(), loaded.snapshot()
    assert a.stopped_early and b.stopped_early and a.stopped_at == b.stopped_at
    assert (a.epoch, a.step_count, a.train_loss, a.val_loss) == (b.epoch, b.step_count, b.train_loss, b.val_loss)
    assert all(np.array_equal(a.grads[name], b.grads[name]) for name in a.grads)
    best = a.best_val_epoch
    history = straight.history.columns()
    assert a.train_loss == history["train"][history["epoch"] == best][0]  # the epoch's batch mean


@pytest.mark.parametrize("key, value, words", [
    ("state", 2**128, "state must be a whole number in 0..340282366920938463463374607431768211455"),
    ("inc", 2**128 + 1, "inc must be a whole number in 0..340282366920938463463374607431768211455"),
    ("inc", 4, "inc must be odd"),
    ("has_uint32", 2, "has_uint32 must be a whole number in 0..1"),
    ("uinteger", 2**32, "uinteger must be a whole number in 0..4294967295"),
    ("state", -1, "state must be a whole number in 0..340282366920938463463374607431768211455 (got -1)"),
    ("state", True, "state must be a whole number"),
])
def test_a_saved_generator_state_outside_pcg64s_is_refused(key, value, words):
    from engine.training.trainer import _rng_dict, _rng_state

    good = _rng_dict(np.random.default_rng(5).bit_generator.state)
    assert _rng_state(good, "x") == np.random.default_rng(5).bit_generator.state
    highest = dict(good, state=2**128 - 1, inc=2**128 - 1, has_uint32=1, uinteger=2**32 - 1)
    np.random.default_rng().bit_generator.state = _rng_state(highest, "x")  # the edges are PCG64's own
    with pytest.raises(ValueError, match=re.escape(words)):
        _rng_state(dict(good, **{key: value}), "trainer batch_rng")


def test_a_rewind_the_whole_depth_back_across_merges_then_on_is_the_straight_run():
    """Small histories merge every few epochs (the batch losses every few steps): stepping
    back as far as the trainer keeps, from an epoch whose oldest frame was taken just before
    a merge, restores both histories as they were; training on from there is the straight run."""
    setup, hyper = Setup(input_transform="scale", batch_seed=2), Hyperparameters(batch_size=4)
    trainer = Trainer(setup, hyper, history_capacity=8)
    seen = {}
    while True:
        trainer.step()
        seen[trainer.epoch] = (trainer.history.to_dict(), trainer.batch_history.to_dict())
        frames = trainer._rewind
        if len(frames) == Trainer.REWIND_DEPTH and frames[0].history_mark[0] != frames[1].history_mark[0]:
            break
        assert trainer.epoch < 3000
    end = trainer.epoch
    oldest = trainer.rewind(Trainer.REWIND_DEPTH)
    assert oldest == end - (Trainer.REWIND_DEPTH - 1)
    for now, then in zip((trainer.history.to_dict(), trainer.batch_history.to_dict()), seen[oldest]):
        assert now["bucket_width"] == then["bucket_width"] and now["open"] == then["open"]
        for column, values in then["buckets"].items():
            assert np.array_equal(now["buckets"][column], values, equal_nan=True)
    trainer.train(end + 40 - trainer.epoch)  # on, past more merges
    straight = Trainer(setup, hyper, history_capacity=8)
    straight.train(end + 40)
    for name in ("history", "batch_history"):
        a, b = getattr(trainer, name).to_dict(), getattr(straight, name).to_dict()
        assert a["open"] == b["open"] and a["bucket_width"] == b["bucket_width"]
        for column, values in a["buckets"].items():
            assert np.array_equal(values, b["buckets"][column], equal_nan=True)


def test_a_history_cannot_go_back_to_a_merge_it_has_forgotten():
    history = LossHistory(capacity=4)
    history.append(1, 1.0)
    mark = history.mark()
    for epoch in range(2, 20):
        history.append(epoch, 1.0 / epoch)
    history.forget_merges_before(history.generation)
    with pytest.raises(ValueError, match=f"history mark of generation 0 cannot be restored at {history.generation}"):
        history.restore(mark)


def test_early_stopping_with_batches_restores_the_gradients_of_the_best_epochs_last_batch():
    setup = Setup(dataset="overfit", model="poly:7", input_transform="standardize", val_fraction=0.3)
    trainer = Trainer(setup, Hyperparameters(optimizer="adam", learning_rate=0.05, early_stopping=True,
                                             overfit_patience=20, batch_size=2))
    grads = {}
    while trainer.can_step:
        trainer.step()
        if trainer.state != "finished":
            grads[trainer.epoch] = dict(trainer.snapshot().grads)
    snap = trainer.snapshot()
    assert snap.stopped_early
    assert all(np.array_equal(snap.grads[name], grads[snap.best_val_epoch][name]) for name in snap.grads)
