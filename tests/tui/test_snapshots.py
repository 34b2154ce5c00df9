"""What the screen looks like, frozen: trained a fixed number of epochs before the picture,
inline (no measured rate on screen), at 80x24 and 120x40.

After a deliberate change of the look: `.venv/bin/pytest --snapshot-update tests/tui` and
look at the new SVGs in tests/tui/__snapshots__/ before committing them.
"""
from __future__ import annotations

from engine.training.trainer import Hyperparameters, Setup

from pilot_helpers import make_app, overfitting_app, raw_diverging_app


def test_the_lesson_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(80, 24))


def test_the_lesson_at_120x40(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(120, 40))


def test_divergence_at_80x24(snap_compare):
    app = raw_diverging_app(pretrain=20)  # stops by itself at epoch 11
    assert app.runner.latest.state == "diverged"
    assert snap_compare(app, terminal_size=(80, 24))


def test_overfitting_mlp_with_log_loss_at_120x40(snap_compare):
    app = overfitting_app(pretrain=600)
    assert snap_compare(app, terminal_size=(120, 40), press=["l"])


def test_validation_split_ascii_plots_at_80x24(snap_compare):
    app = make_app(Setup(input_transform="scale", val_fraction=0.2), Hyperparameters(epochs=5000),
                   pretrain=1000, ascii_plots=True)
    assert snap_compare(app, terminal_size=(80, 24))


def test_too_small_terminal(snap_compare):
    assert snap_compare(make_app(), terminal_size=(60, 16))


def test_mini_batches_at_80x24(snap_compare):
    """Batches of 4 on the thermometer data with a split: the faint batch losses behind the
    epoch means, the steps in the status line, the batch size row."""
    app = make_app(Setup(input_transform="scale", val_fraction=0.2), Hyperparameters(epochs=5000, batch_size=4),
                   pretrain=300)
    assert snap_compare(app, terminal_size=(80, 24), press=["l"])


def test_mini_batches_ascii_at_120x40(snap_compare):
    app = make_app(Setup(input_transform="scale"), Hyperparameters(epochs=5000, batch_size=1), pretrain=200,
                   ascii_plots=True)
    assert snap_compare(app, terminal_size=(120, 40))
