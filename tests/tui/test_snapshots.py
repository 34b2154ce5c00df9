"""What the screen looks like, frozen: trained a fixed number of epochs before the picture,
inline (no measured rate on screen), at 80x24 and 120x40.

After a deliberate change of the look: `.venv/bin/pytest --snapshot-update tests/tui` and
look at the new SVGs in tests/tui/__snapshots__/ before committing them.
"""
from __future__ import annotations

from engine.lesson.presets import preset
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


# ---------------------------------------------------------------- readable on a projector (issue 13)
def test_overfitting_at_80x24(snap_compare):
    """Validation over training, its dip marked ◆, the panel's lines whole, axes labelled."""
    assert snap_compare(overfitting_app(pretrain=3000), terminal_size=(80, 24))


def test_the_books_split_at_120x40(snap_compare):
    """A 3,000-epoch budget: the loss axis ends at 3000."""
    p = preset("split")
    assert snap_compare(make_app(p.setup, p.hyper, pretrain=3000), terminal_size=(120, 40))


def test_divergence_at_120x40(snap_compare):
    assert snap_compare(raw_diverging_app(pretrain=20), terminal_size=(120, 40))


def test_a_late_divergence_at_80x24(snap_compare):
    """The label 'inf at epoch 1,127' whole, over the curve that used to overwrite it."""
    app = make_app(Setup(), Hyperparameters(learning_rate=3.46e-4, epochs=5000), pretrain=5000)
    assert snap_compare(app, terminal_size=(80, 24))


def test_an_exploding_loss_at_80x24(snap_compare):
    """The status line's warning in a shorter form that fits, not cut."""
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-3, epochs=5000), pretrain=20)
    assert snap_compare(app, terminal_size=(80, 24))


def test_a_presets_story_on_the_message_line_at_80x24(snap_compare):
    """The story sits on its own line above the keys, not on the Train/val panel."""
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["p", "end", "enter"])


def test_the_messages_screen_at_80x24(snap_compare):
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["p", "end", "enter", "r", "M"])


def test_the_messages_screen_at_120x40(snap_compare):
    assert snap_compare(make_app(), terminal_size=(120, 40), press=["p", "end", "enter", "r", "M"])


def test_the_point_editor_after_edits_at_80x24(snap_compare):
    """No toast over the point being moved."""
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["e", "up", "up", "right", "down"])


def test_the_point_editor_after_edits_at_120x40(snap_compare):
    assert snap_compare(make_app(), terminal_size=(120, 40), press=["e", "up", "up", "right", "down"])
