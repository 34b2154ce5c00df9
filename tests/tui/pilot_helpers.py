"""Helpers for the app's Pilot tests: an app whose trainer runs inline, step by step.

With `runner_threaded=False` every command (a step, a reset, ...) runs on the test's own
thread before the key press returns, so what the screen shows is deterministic and no test
sleeps or waits for a background thread.
"""
from __future__ import annotations

from engine.lesson.presets import preset
from engine.training.trainer import Hyperparameters, Setup, Trainer
from tui.app import KeplerApp


def make_app(setup: Setup | None = None, hyper: Hyperparameters | None = None, pretrain: int = 0,
             **options) -> KeplerApp:
    """The app on an inline trainer (the app's default lesson unless told otherwise),
    already `pretrain` epochs in: cheaper than pressing keys for it."""
    trainer = Trainer(setup or Setup(input_transform="scale", input_scale=0.1),
                      hyper or Hyperparameters(learning_rate=1e-2, epochs=5000))
    if pretrain:
        trainer.train(pretrain)
    return KeplerApp(trainer, runner_threaded=False, **options)


def raw_diverging_app(**options) -> KeplerApp:
    """The chapter's first attempt: lr 1e-2 on the raw readings (inf at epoch 11)."""
    return make_app(Setup(), Hyperparameters(learning_rate=1e-2, epochs=5000), **options)


def overfitting_app(**options) -> KeplerApp:
    """A 1-24-1 network on 8 training points: validation loss turns up by epoch ~450."""
    p = preset("overfit")
    return make_app(p.setup, p.hyper, **options)


def notifications(app: KeplerApp) -> list[str]:
    """What the app has said this session, oldest first (its message log: no toasts)."""
    return [said.text for said in app.message_log]



async def burst(pilot, *keys: str) -> None:
    """Keys that arrive in one read, as over a slow SSH link: all queued before the app
    handles the first, then handled in order."""
    from textual import events

    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    for _ in range(3):
        await pilot.pause()


async def show_latest(pilot) -> None:
    """After a command run straight on the controller (not a key): the trainer screen draws
    what the runner published last now, not when its frame timer next fires (which a test
    cannot await). Bounded by a count of passes, never by a time."""
    app = pilot.app
    for _ in range(20):
        await pilot.pause()  # the published snapshots reach the screen as messages
        app.trainer_screen.frame()
        if app.trainer_screen.snapshot is app.runner.latest:
            break
    await pilot.pause()  # the styles of what was drawn (a panel shown or hidden)
    await pilot.pause()
