"""The runner delivers snapshots in order: once a command has returned, no snapshot taken
before it reaches a listener (a UI would otherwise show the old learning rate again)."""
from __future__ import annotations

import time

from engine.training.runner import BackgroundTrainer
from engine.training.trainer import Hyperparameters, Setup, Trainer


def test_no_snapshot_older_than_a_command_arrives_after_it():
    runner = BackgroundTrainer(Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=10_000_000)),
                               snapshot_rate=2000)
    seen: list[float] = []

    def listener(snapshot):  # a listener takes a moment (posting to a UI queue, say)
        time.sleep(0.0002)
        seen.append(snapshot.hyper.learning_rate)

    runner.add_listener(listener)
    runner.play()
    try:
        stale = []
        for i in range(100):
            rate = (0.01, 0.005)[i % 2]
            runner.set_hyperparameters(learning_rate=rate)
            after = len(seen)
            time.sleep(0.0005)  # let the worker publish a few
            stale += [r for r in seen[after:] if r != rate]
            assert runner.latest.hyper.learning_rate == rate
        assert stale == []
    finally:
        runner.close()
