"""A damaged session file is refused with one line naming the field (issue 9, defect 8).

Each file in tests/bad_session/ is a real session with one damage (written by
tests/make_bad_sessions.py); every file has a case here, and every case a file.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.training.session import SessionError, load_session

BAD = Path(__file__).parent / "bad_session"

CASES = {
    "history_epoch_nan.json": "field 'trainer.history.buckets.epoch[2]' is nan, not a whole epoch number",
    "history_epoch_huge.json": "field 'trainer.history.buckets.epoch[5]' is 1e+308; epochs rise from 1 to the run's 6",
    "history_epochs_out_of_order.json": "field 'trainer.history.buckets.epoch[2]' is 2; epochs rise",
    "history_total_epochs.json": "field 'trainer.history.total_epochs' is 5, but the run is at epoch 6",
    "history_capacity.json": "field 'trainer.history.capacity' is 1073741824",
    "history_bucket_width.json": "field 'trainer.history.bucket_width' is 1099511627776",
    "history_columns_differ.json": "field 'trainer.history.buckets.train' holds 5 values, the epoch column 6",
    "history_loss_text.json": "field 'trainer.history.buckets.train[0]' should be a number",
    "epoch_huge.json": "field 'trainer.epoch' is 1000000000000, beyond the largest epoch budget",
    "state_unknown.json": "field 'trainer.state' is 'exploded', not one of",
    "best_epoch_beyond_run.json": "field 'trainer.best_val.epoch' is 99, not an epoch of this run (1..6)",
    "best_loss_nan.json": "field 'trainer.best_val.loss' should be a finite loss",
    "stopped_early_while_paused.json": "field 'trainer.stopped_early' is true, but the run has not finished",
    "optimizer_step_beyond_run.json": "field 'trainer.optimizer.state.0.step' is 1000000000, outside 0..6",
    "rewind_too_many_frames.json": "field 'trainer.rewind' holds 257 frames; a run keeps at most 256",
    "rewind_gap.json": "field 'trainer.rewind[1].epoch' is 2 after 0; frames are consecutive epochs",
    "rewind_not_current.json": "field 'trainer.rewind[5].epoch' is 5, not the run's epoch 6",
    "rewind_empty.json": "field 'trainer.rewind' is empty",
    "param_shape.json": "params w: shape (3,), the model's is ()",
    "seed_negative.json": "split seed must be a whole number in 0..",
    "divergence_epoch_huge.json": "field 'trainer.divergence.epoch' is 1000000000000000000000000000000, not an epoch",
    "divergence_loss_finite.json": "field 'trainer.divergence.loss' is a finite number",
    "divergence_without_state.json": "field 'trainer.divergence' should be given exactly when the state is 'diverged'",
    "divergence_grad_norm_name.json": "field 'trainer.divergence.grad_norms.bogus' is not a parameter of the model",
    "batch_size_zero.json": "batch size must be a whole number in 1..10,000,000, or full (got 0)",
    "batch_steps_fewer_than_epochs.json": "field 'trainer.steps' is 3, fewer than the run's 6 epochs",
    "batch_optimizer_step_beyond_steps.json": "field 'trainer.optimizer.state.0.step' is 19, outside 0..18 (the run's steps)",
    "batch_history_beyond_steps.json": "field 'trainer.batch_history.total_epochs' is 19, more batch losses than "
                                       "the run's 18 steps",
    "batch_position_beyond_run.json": "field 'trainer.batch_history.buckets.epoch[3]' is 99.5; batch positions rise "
                                      "from 0 to the run's epoch 6",
    "batch_rng_increment_even.json": "trainer batch_rng inc must be odd",
    "batch_rng_state_text.json": "field 'trainer.rewind[2].batch_rng.state' should be a whole number, not a string",
    "batch_frame_steps_beyond_run.json": "rewind[2] steps 1000000 is not a step count of 2 epochs on 9 training points",
}


def test_every_damaged_session_has_a_case():
    assert {p.name for p in BAD.glob("*.json")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_damaged_session_is_refused_naming_the_field(name):
    with pytest.raises(SessionError) as caught:
        load_session(BAD / name)
    message = str(caught.value)
    assert message.startswith(str(BAD / name)) and "\n" not in message
    assert CASES[name] in message


def test_the_generator_still_writes_loadable_sessions_before_damaging_them():
    sys.path.insert(0, str(Path(__file__).parent))
    from engine.training.session import session_from_dict
    from make_bad_sessions import batch_run, diverged_run, long_run, split_run

    for run, epoch in ((split_run, 6), (long_run, 300), (diverged_run, 11), (batch_run, 6)):
        trainer, _ = session_from_dict(run())
        assert trainer.epoch == epoch


@pytest.mark.parametrize("command", [["train", "--export-history", "-"], []])
@pytest.mark.parametrize("name", ["history_epoch_huge.json", "rewind_too_many_frames.json", "divergence_epoch_huge.json"])
def test_kepler_load_refuses_them_before_anything_runs(command, name):
    out = subprocess.run([sys.executable, "-m", "tui.cli", *command, "--load", str(BAD / name)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and CASES[name] in lines[0] and "Traceback" not in out.stderr
