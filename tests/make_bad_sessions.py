"""Writes tests/bad_session/: damaged copies of real session files, one damage each.

    .venv/bin/python tests/make_bad_sessions.py

Run it again when the session format changes (e.g. what a rewind frame holds); the
expected messages live in tests/test_session_damaged.py, one case per file.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.training.session import session_to_dict  # noqa: E402
from engine.training.trainer import Hyperparameters, Setup, Trainer  # noqa: E402

FOLDER = Path(__file__).parent / "bad_session"


def split_run() -> dict:
    """Six epochs of Adam with a validation split: history, best epoch, optimizer steps."""
    trainer = Trainer(Setup(input_transform="scale", val_fraction=0.2), Hyperparameters(optimizer="adam", learning_rate=0.1))
    trainer.train(6)
    return session_to_dict(trainer)


def long_run() -> dict:
    """300 epochs: the rewind frames are full (Trainer.REWIND_DEPTH of them)."""
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters())
    trainer.train(300)
    return session_to_dict(trainer)


def diverged_run() -> dict:
    """The book's raw run at lr 1e-2: diverged at epoch 11."""
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-2))
    trainer.train(20)
    return session_to_dict(trainer)


def batch_run() -> dict:
    """Six epochs of Adam in batches of 4 with a validation split: 2 steps an epoch, 12 in all."""
    trainer = Trainer(Setup(input_transform="scale", val_fraction=0.2),
                      Hyperparameters(optimizer="adam", learning_rate=0.1, batch_size=4))
    trainer.train(6)
    return session_to_dict(trainer)


def _one_more_than_steps(path: str):
    """Set `path` to one more than the run's optimizer steps."""
    def damage(doc):
        _set(path, doc["trainer"]["steps"] + 1)(doc)
    return damage


def _set(path: str, value):
    def damage(doc):
        *parents, last = path.split("/")
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return damage


def _swap_history_epochs(doc):
    column = doc["trainer"]["history"]["buckets"]["epoch"]
    column[1], column[2] = column[2], column[1]


def _drop_train_value(doc):
    doc["trainer"]["history"]["buckets"]["train"].pop()


def _one_frame_too_many(doc):
    # Consecutive and ending at the run's epoch, as the trainer writes them: only the count is wrong.
    frames = doc["trainer"]["rewind"]
    older = copy.deepcopy(frames[0])
    older["epoch"] -= 1
    frames.insert(0, older)


def _gap_in_frames(doc):
    doc["trainer"]["rewind"][1]["epoch"] = 2


def _drop_newest_frame(doc):
    doc["trainer"]["rewind"].pop()


def _stopped_while_paused(doc):
    doc["trainer"]["stopped_early"] = True


DAMAGES = {
    # name: (which run, the damage)
    "history_epoch_nan.json": (split_run, _set("trainer/history/buckets/epoch/2", "nan")),
    "history_epoch_huge.json": (split_run, _set("trainer/history/buckets/epoch/5", 1e308)),
    "history_epochs_out_of_order.json": (split_run, _swap_history_epochs),
    "history_total_epochs.json": (split_run, _set("trainer/history/total_epochs", 5)),
    "history_capacity.json": (split_run, _set("trainer/history/capacity", 1 << 30)),
    "history_bucket_width.json": (split_run, _set("trainer/history/bucket_width", 1 << 40)),
    "history_columns_differ.json": (split_run, _drop_train_value),
    "history_loss_text.json": (split_run, _set("trainer/history/buckets/train/0", "lots")),
    "epoch_huge.json": (split_run, _set("trainer/epoch", 10 ** 12)),
    "state_unknown.json": (split_run, _set("trainer/state", "exploded")),
    "best_epoch_beyond_run.json": (split_run, _set("trainer/best_val/epoch", 99)),
    "best_loss_nan.json": (split_run, _set("trainer/best_val/loss", "nan")),
    "stopped_early_while_paused.json": (split_run, _stopped_while_paused),
    "optimizer_step_beyond_run.json": (split_run, _set("trainer/optimizer/state/0/step", 10 ** 9)),
    "rewind_too_many_frames.json": (long_run, _one_frame_too_many),
    "rewind_gap.json": (split_run, _gap_in_frames),
    "rewind_not_current.json": (split_run, _drop_newest_frame),
    "rewind_empty.json": (split_run, _set("trainer/rewind", [])),
    "param_shape.json": (split_run, _set("trainer/params/0", {"dtype": "float32", "shape": [3], "data": [1, 2, 3]})),
    "seed_negative.json": (split_run, _set("setup/split_seed", -1)),
    "divergence_epoch_huge.json": (diverged_run, _set("trainer/divergence/epoch", 10 ** 30)),
    "divergence_loss_finite.json": (diverged_run, _set("trainer/divergence/loss", 3.0)),
    "divergence_without_state.json": (diverged_run, _set("trainer/state", "paused")),
    "divergence_grad_norm_name.json": (diverged_run, _set("trainer/divergence/grad_norms/bogus", 1.0)),
    "batch_size_zero.json": (batch_run, _set("hyperparameters/batch_size", 0)),
    "batch_steps_fewer_than_epochs.json": (batch_run, _set("trainer/steps", 3)),
    "batch_optimizer_step_beyond_steps.json": (batch_run, _one_more_than_steps("trainer/optimizer/state/0/step")),
    "batch_history_beyond_steps.json": (batch_run, _one_more_than_steps("trainer/batch_history/total_epochs")),
    "batch_position_beyond_run.json": (batch_run, _set("trainer/batch_history/buckets/epoch/3", 99.5)),
    "batch_rng_increment_even.json": (batch_run, _set("trainer/batch_rng/inc", 2)),
    "batch_rng_state_text.json": (batch_run, _set("trainer/rewind/2/batch_rng/state", "12")),
    "batch_frame_steps_beyond_run.json": (batch_run, _set("trainer/rewind/2/steps", 10 ** 6)),
}


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for old in FOLDER.glob("*.json"):
        old.unlink()
    runs = {}
    for name, (run, damage) in DAMAGES.items():
        doc = copy.deepcopy(runs.setdefault(run, run()))
        damage(doc)
        (FOLDER / name).write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    print(f"wrote {len(DAMAGES)} files to {FOLDER}")


if __name__ == "__main__":
    main()
