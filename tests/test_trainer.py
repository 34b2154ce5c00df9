"""The trainer: the book's numbers through the same code the app runs, steering mid-run,
divergence as a state, bounded history, determinism, and the background runner."""
from __future__ import annotations

import asyncio
import math
import threading
import time
import tracemalloc

import numpy as np
import pytest

from engine.training.history import LossHistory
from engine.training.runner import BackgroundTrainer
from engine.training.trainer import Hyperparameters, Setup, SettingError, Trainer

BOOK_SPLIT = dict(train_indices=(9, 6, 5, 8, 4, 7, 0, 1, 3), val_indices=(2, 10))


def close(got, book, rtol=1e-5, atol=0.0):
    return abs(got - book) <= atol + rtol * abs(book)


def test_first_step_follows_the_book_convention():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2))
    start = trainer.snapshot()
    assert start.epoch == 0 and start.state == "ready"
    assert close(start.train_loss, 80.364342)
    snap = trainer.step()
    # loss before the update, parameters after it, the gradient the update used
    assert snap.epoch == 1
    assert close(snap.train_loss, 80.364342)
    assert close(float(snap.params["w"]), 1.7761, atol=5e-5)
    assert close(float(snap.params["b"]), 0.1064, atol=5e-5)
    assert close(float(snap.grads["w"]), -77.614, atol=5e-4)
    assert close(float(snap.grads["b"]), -10.64, atol=5e-3)
    # for plain SGD the step just taken is -lr * grad
    assert np.allclose(snap.update["w"], -1e-2 * snap.grads["w"], rtol=1e-4)


def test_normalised_input_converges_to_the_books_line():
    trainer = Trainer(Setup(input_transform="scale", input_scale=0.1), Hyperparameters(epochs=5000))
    snap = trainer.train(10_000)  # the budget stops it at 5000
    assert snap.epoch == 5000 and snap.state == "finished"
    assert close(snap.train_loss, 2.927648, atol=5e-7)
    assert close(float(snap.params["w"]), 5.3671, atol=5e-5)
    assert close(float(snap.params["b"]), -17.3012, atol=5e-5)
    w_raw, b_raw = snap.raw_line  # the same line for raw readings: w * 0.1
    assert close(w_raw, 0.53671, atol=5e-5) and close(b_raw, -17.3012, atol=5e-5)


def test_raw_input_lr_1e2_diverges_at_epoch_11_without_an_exception():
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-2, epochs=100))
    snap = trainer.train(100)
    assert snap.state == "diverged"
    assert snap.epoch == 11
    d = snap.divergence
    assert d.epoch == 11 and math.isinf(d.loss)
    hi, lo, ratio = d.grad_ratio()
    assert (hi, lo) == ("w", "b") and 50 < ratio < 65  # the w-gradient dwarfs the b-gradient
    assert trainer.step().epoch == 11  # a diverged run does not go on


def test_loss_explosion_is_warned_before_the_overflow():
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-2))
    trainer.train(5)
    assert "exploding" in trainer.snapshot().warning
    calm = Trainer(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2))
    calm.train(5)
    assert calm.snapshot().warning is None


def test_raw_input_lr_1e4_crawls_to_29():
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-4, epochs=100))
    snap = trainer.train(100)
    assert snap.state == "finished"
    assert close(snap.train_loss, 29.022669, rtol=1e-5, atol=5e-7)


def test_adam_works_on_raw_input():
    trainer = Trainer(Setup(), Hyperparameters(optimizer="adam", learning_rate=1e-1, epochs=2000))
    snap = trainer.train(2000)
    assert snap.state == "finished" and snap.train_loss < 3.0
    assert abs(float(snap.params["w"]) - 0.5367) < 1e-3


def test_the_books_split_reproduces_its_losses():
    trainer = Trainer(Setup(input_transform="scale", **BOOK_SPLIT), Hyperparameters(epochs=3000))
    first = trainer.step()
    assert close(first.train_loss, 66.5811, atol=5e-5) and close(first.val_loss, 142.389, atol=5e-4)
    snap = trainer.train(3000)
    assert close(snap.train_loss, 3.0125, atol=5e-5) and close(snap.val_loss, 3.5756, atol=5e-5)
    assert close(float(snap.params["w"]), 5.1964, atol=5e-5)


def test_learning_rate_change_continues_the_run():
    trainer = Trainer(Setup(input_transform="scale"))
    trainer.train(10)
    w_before = float(trainer.snapshot().params["w"])
    trainer.set_hyperparameters(learning_rate=1e-3)
    assert trainer.epoch == 10
    snap = trainer.step()
    assert snap.epoch == 11 and snap.hyper.learning_rate == 1e-3
    assert abs(float(snap.update["w"]) + 1e-3 * float(snap.grads["w"])) < 1e-6
    assert float(snap.params["w"]) != w_before


def test_switching_optimizer_continues_but_changing_the_model_resets():
    trainer = Trainer(Setup(input_transform="scale"))
    trainer.train(20)
    trainer.set_hyperparameters(optimizer="adam", learning_rate=0.1)
    assert trainer.step().epoch == 21
    trainer.reset(Setup(input_transform="scale", model="poly:3"))
    assert trainer.epoch == 0 and trainer.state == "ready"
    assert set(trainer.snapshot().params) == {"w", "b"} and trainer.snapshot().params["w"].shape == (3,)


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(learning_rate=-1.0), "learning rate"),
        (dict(learning_rate=float("nan")), "learning rate"),
        (dict(momentum=1.5), "momentum"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(epochs=0), "epochs"),
        (dict(beta2=1.0), "beta2"),
    ],
)
def test_bad_hyperparameters_are_refused_and_nothing_changes(change, words):
    trainer = Trainer(Setup(input_transform="scale"))
    trainer.train(3)
    before = trainer.hyper
    with pytest.raises(SettingError, match=words):
        trainer.set_hyperparameters(**change)
    assert trainer.hyper == before and trainer.epoch == 3


@pytest.mark.parametrize(
    "setup, words",
    [
        (Setup(val_fraction=1.0), "validation fraction"),
        (Setup(val_fraction=0.01), "no validation point"),
        (Setup(model="poly:99"), "degree"),
        (Setup(input_transform="scale", input_scale=0.0), "input scale"),
        (Setup(dataset="nope"), "unknown dataset"),
        (Setup(train_indices=(0, 1), val_indices=(1,)), "both"),
    ],
)
def test_bad_setups_are_refused_with_the_field_named(setup, words):
    with pytest.raises(SettingError, match=words):
        Trainer(setup)


def test_same_seed_same_numbers_and_other_seed_other_split():
    def run(seed):
        t = Trainer(Setup(model="mlp:6", input_transform="standardize", val_fraction=0.2, split_seed=seed, init_seed=seed),
                    Hyperparameters(learning_rate=0.05))
        s = t.train(200)
        return s.train_loss, s.val_loss, tuple(t.split.val)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_overfitting_is_noticed_and_early_stopping_restores_the_best_epoch():
    setup = Setup(model="mlp:24", input_transform="standardize", val_fraction=0.3, split_seed=3, init_seed=0)
    hyper = Hyperparameters(optimizer="adam", learning_rate=0.05, epochs=3000, overfit_patience=100)
    snap = Trainer(setup, hyper).train(3000)
    assert snap.best_val_epoch is not None and snap.best_val_epoch < 3000
    assert snap.overfitting_since == snap.best_val_epoch
    assert snap.val_loss > snap.best_val_loss

    early = Trainer(setup, Hyperparameters(**{**hyper.__dict__, "early_stopping": True}))
    stopped = early.train(3000)
    assert stopped.stopped_early and stopped.state == "finished"
    assert stopped.epoch < 3000
    train_now, val_now = early.current_loss()
    assert abs(val_now - stopped.best_val_loss) < 1e-4  # the best parameters are back


OVERFIT = "data=overfit,model=poly:7,val=0.3,opt=adam,lr=0.05,scale=std,epochs=20000"


def _straight_run(setup, hyper, epochs):
    """Every epoch's parameters and gradients of a run without early stopping."""
    params, grads, losses = {}, {}, {}

    def keep(t):
        named = dict(t.model.named_parameters())
        params[t.epoch] = {n: p.data.copy() for n, p in named.items()}
        grads[t.epoch] = {n: p.grad.data.copy() for n, p in named.items()}
        losses[t.epoch] = (t.last_epoch.train_loss, t.last_epoch.val_loss)

    trainer = Trainer(setup, hyper)
    params[0] = {n: p.data.copy() for n, p in trainer.model.named_parameters()}
    trainer.train(epochs, on_epoch=keep)
    return params, grads, losses


@pytest.mark.parametrize("text", [OVERFIT, "data=overfit,model=mlp:24,val=0.3,split_seed=3,opt=adam,lr=0.05,scale=std"])
def test_early_stopping_restores_exactly_the_best_epoch_and_reports_it(text):
    from dataclasses import replace

    from engine.training.setup_string import parse_setup_string

    setup, hyper = parse_setup_string(text)
    early = Trainer(setup, replace(hyper, early_stopping=True))
    s = early.train(hyper.epochs)
    best, stopped = s.best_val_epoch, s.stopped_at
    assert s.stopped_early and s.state == "finished" and stopped == early.epoch > best
    params, grads, losses = _straight_run(setup, hyper, stopped)
    # The best validation loss was measured before epoch `best`'s update, at the parameters
    # epoch best - 1 left: exactly those are back (not the next epoch's, not a near miss).
    for name, value in s.params.items():
        assert np.array_equal(value, params[best - 1][name]), name
        assert not np.array_equal(value, params[best][name]), name
        assert np.array_equal(s.grads[name], grads[best][name]), name  # the gradient at those parameters
        assert np.array_equal(s.update[name], np.zeros_like(value))  # put back, not stepped
    # Every number on screen describes that epoch, measured at the parameters shown.
    assert s.epoch == best and s.step_count == best
    assert (s.train_loss, s.val_loss) == losses[best] == early.current_loss()
    assert s.val_loss == s.best_val_loss
    assert s.overfitting_since is None
    assert np.array_equal(s.fit_y, early.predict(s.fit_x))
    # The curve goes on to where it stopped, so the rise stays visible, the best epoch marked.
    assert s.history.total_epochs == stopped and s.history.epochs[-1] == stopped
    assert s.history.val_loss[-1] == losses[stopped][1] > s.best_val_loss
    assert early.last_epoch.epoch == stopped and early.last_epoch.val_loss == losses[stopped][1]


def test_a_run_stopped_early_saves_and_loads_as_the_restored_epoch(tmp_path):
    from dataclasses import replace

    from engine.training.session import load_session, save_session
    from engine.training.setup_string import parse_setup_string

    setup, hyper = parse_setup_string(OVERFIT)
    early = Trainer(setup, replace(hyper, early_stopping=True))
    s = early.train(hyper.epochs)
    save_session(early, tmp_path / "s.json")
    loaded = load_session(tmp_path / "s.json")[0].snapshot()
    assert (loaded.epoch, loaded.stopped_at, loaded.train_loss, loaded.val_loss) == (
        s.epoch, s.stopped_at, s.train_loss, s.val_loss)
    for name in s.params:
        assert np.array_equal(loaded.params[name], s.params[name])
        assert np.array_equal(loaded.grads[name], s.grads[name])


def test_a_stop_after_loading_restores_the_best_epoch_saved_before_it(tmp_path):
    from dataclasses import replace

    from engine.training.session import load_session, save_session
    from engine.training.setup_string import parse_setup_string

    setup, hyper = parse_setup_string(OVERFIT)
    hyper = replace(hyper, early_stopping=True)
    whole = Trainer(setup, hyper).train(hyper.epochs)
    part = Trainer(setup, hyper)
    part.train(whole.best_val_epoch + 5)  # past the best, before the stop
    save_session(part, tmp_path / "s.json")
    resumed = load_session(tmp_path / "s.json")[0]
    s = resumed.train(hyper.epochs)
    assert (s.epoch, s.stopped_at, s.train_loss, s.val_loss) == (
        whole.epoch, whole.stopped_at, whole.train_loss, whole.val_loss)
    for name in s.params:
        assert np.array_equal(s.params[name], whole.params[name])
        assert np.array_equal(s.grads[name], whole.grads[name])


def test_rewind_restores_parameters_and_history():
    trainer = Trainer(Setup(input_transform="scale"))
    trainer.train(10)
    at_7 = None
    trainer.rewind(3)
    assert trainer.epoch == 7
    at_7 = trainer.snapshot()
    assert at_7.history.epochs[-1] == 7
    again = Trainer(Setup(input_transform="scale"))
    again.train(7)
    assert np.allclose(at_7.params["w"], again.snapshot().params["w"])
    assert trainer.step().epoch == 8


def test_gradients_accumulate_when_not_zeroed():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(zero_grad=False, learning_rate=1e-3))
    g1 = trainer.step().grads["w"].copy()
    g2 = trainer.step().grads["w"]
    fresh = Trainer(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-3))
    fresh.step()
    g_second_alone = fresh.step().grads["w"]
    assert np.allclose(g2, g1 + g_second_alone, rtol=1e-5)


def test_snapshots_are_frozen_copies():
    trainer = Trainer(Setup(input_transform="scale"))
    snap = trainer.step()
    w = float(snap.params["w"])
    trainer.train(10)
    assert float(snap.params["w"]) == w
    with pytest.raises((ValueError, TypeError)):
        snap.params["w"][...] = 0


def test_history_is_bounded_and_keeps_the_shape_of_the_run():
    history = LossHistory(capacity=256)
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    for epoch in range(1, 1_000_001):
        history.append(epoch, 1.0 / epoch, 2.0 / epoch)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    assert grown < 2_000_000
    assert history.total_epochs == 1_000_000 and len(history) <= 256
    view = history.view(100)
    assert len(view) <= 100
    assert view.epochs[-1] == 1_000_000 and view.train_loss[-1] == pytest.approx(1e-6)
    assert np.all(np.diff(view.epochs) > 0)
    assert history.columns()["train_max"][0] == 1.0  # the first epoch's spike survives merging


def test_a_million_epochs_history_through_the_trainer_stays_small():
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=10_000_000), history_capacity=512)
    trainer.train(5000)
    assert len(trainer.history) <= 512 and trainer.history.total_epochs == 5000


# ---------------------------------------------------------------------- the runner
def test_inline_runner_steps_deterministically():
    runner = BackgroundTrainer(Trainer(Setup(input_transform="scale")), threaded=False)
    seen = []
    runner.add_listener(lambda s: seen.append(s.epoch))
    runner.step(5)
    assert runner.latest.epoch == 5 and runner.latest.state == "paused"
    assert seen[-1] == 5


def test_background_runner_plays_pauses_and_takes_commands_between_epochs():
    runner = BackgroundTrainer(Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=10_000_000)),
                               snapshot_rate=50)
    states = []
    runner.add_listener(lambda s: states.append(s.state))
    try:
        runner.play()
        deadline = time.monotonic() + 5
        while runner.latest.epoch < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        runner.set_hyperparameters(learning_rate=1e-3)
        runner.pause()
        assert runner.wait_idle(5)
        paused_at = runner.trainer.epoch
        time.sleep(0.05)
        assert runner.trainer.epoch == paused_at  # paused means paused
        assert runner.latest.state == "paused" and runner.latest.hyper.learning_rate == 1e-3
        assert "running" in states
        runner.step(3)
        assert runner.wait_idle(5)
        assert runner.trainer.epoch == paused_at + 3
    finally:
        runner.close()


class TickingClock:
    """A fake clock for the runner's worker: every read moves time on by one tick (2**-12 s,
    so every sum stays exact in binary). Time passes only as the worker looks at it, so what
    the worker does at each simulated moment does not depend on how fast this machine is."""

    TICK = 2.0 ** -12

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.TICK
        return self.now


def run_on_fake_clock(epochs_per_second, epochs: int) -> list[float]:
    """Play a run of `epochs` epochs on a TickingClock and return the simulated time at which
    each epoch started."""
    clock = TickingClock()
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=epochs))
    started_at = []
    advance = trainer.advance

    def timed_advance():
        started_at.append(clock.now)
        advance()

    trainer.advance = timed_advance
    runner = BackgroundTrainer(trainer, epochs_per_second=epochs_per_second, clock=clock)
    finished = threading.Event()
    runner.add_listener(lambda s: finished.set() if s.state == "finished" else None)
    try:
        runner.play()  # the only command: nothing else makes the worker read the clock
        assert finished.wait(60), "the run never finished"  # a bound against hanging, not a measurement
    finally:
        runner.close()
    assert len(started_at) == epochs
    return started_at


def test_speed_limit_paces_epochs_on_the_runners_clock():
    # 1024 epochs per simulated second: one every 2**-10 s, four clock ticks (while it waits,
    # the worker blocks on its queue for the few real microseconds it computed from the clock).
    period = 2.0 ** -10
    started_at = np.array(run_on_fake_clock(1024, epochs=600))
    since_first = started_at - started_at[0]
    k = np.arange(600)
    # The first epoch starts a few clock reads after its deadline, and a late epoch is made up
    # for by starting the next one at once (at most one epoch of catch-up): so epoch k starts
    # no later than k periods after the first, and less than one period earlier than that.
    assert np.all(since_first <= k * period)
    assert np.all(since_first > (k - 1) * period)
    for quarter in (0.0, 0.25):  # 1024 per simulated second: 256 in each quarter (+1: the catch-up)
        window = (since_first >= quarter) & (since_first < quarter + 0.25)
        assert np.count_nonzero(window) in (256, 257)


def test_without_a_speed_limit_epochs_follow_each_other_without_waiting():
    started_at = run_on_fake_clock(None, epochs=600)
    gaps = np.diff(started_at) / TickingClock.TICK
    # Back to back: one clock read per epoch, and three more when a slice of _SLICE (0.02 s
    # = 82 ticks) ends; nothing waits for a deadline.
    assert set(gaps.tolist()) == {1.0, 4.0}
    assert np.count_nonzero(gaps == 4.0) == 599 // 82
    assert started_at[-1] - started_at[0] < 0.25  # what 256 epochs take with a limit of 1024/s


def test_divergence_stops_the_background_run():
    runner = BackgroundTrainer(Trainer(Setup(), Hyperparameters(learning_rate=1e-2)))
    done = threading.Event()
    runner.add_listener(lambda s: done.set() if s.state == "diverged" else None)
    try:
        runner.play()
        assert done.wait(5)
        assert runner.latest.epoch == 11 and not runner.running
    finally:
        runner.close()


async def test_async_snapshots_collapse_the_backlog_of_a_slow_consumer():
    # threaded=False: every command publishes one snapshot, here, before it returns, so the
    # consumer below is slower than the producer by exactly the number of steps taken.
    runner = BackgroundTrainer(Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=1000)), threaded=False)
    published = []
    runner.add_listener(published.append)
    stream = runner.snapshots()
    received = [await anext(stream)]
    assert received[0].epoch == 0 and published == []
    for backlog in (1, 3, 5, 2):
        for _ in range(backlog):
            runner.step(1)
        snap = await asyncio.wait_for(anext(stream), 30)  # a bound against hanging only
        received.append(snap)
        assert snap is published[-1]  # the newest, never the oldest waiting one
    # Nothing new: the consumer waits without holding up the event loop, and wakes on the next.
    waiting = asyncio.create_task(anext(stream))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    runner.step(1)
    received.append(await asyncio.wait_for(waiting, 30))
    await stream.aclose()
    assert [s.epoch for s in received] == [0, 1, 4, 9, 11, 12]
    assert [s.epoch for s in published] == list(range(1, 13))
    assert len(received) - 1 < len(published)  # the skipped snapshots never arrive


async def test_async_snapshots_from_the_worker_collapse_the_backlog_of_a_slow_consumer():
    runner = BackgroundTrainer(Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=10_000_000)),
                               snapshot_rate=1000)
    loop = asyncio.get_running_loop()
    more = asyncio.Event()
    published = []

    def listener(snapshot):  # on the worker thread, after the stream's own listener
        published.append(snapshot.epoch)
        loop.call_soon_threadsafe(more.set)

    stream = runner.snapshots()
    try:
        received = [(await anext(stream)).epoch]
        runner.add_listener(listener)
        runner.play()
        for _ in range(6):
            # A slow consumer: it comes back only after three more snapshots were published.
            target = len(published) + 3
            while len(published) < target:
                await asyncio.wait_for(more.wait(), 30)  # a bound against hanging only
                more.clear()
            skipped_past = published[target - 1]
            epoch = (await asyncio.wait_for(anext(stream), 30)).epoch
            assert epoch >= skipped_past  # the newest, not the next one in line
            assert epoch > received[-1]  # never an older one after a newer one
            received.append(epoch)
        assert len(received) - 1 <= len(published) // 3 < len(published)
    finally:
        await stream.aclose()
        runner.close()
