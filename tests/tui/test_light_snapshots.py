"""The screens issue 13 fixed, in the light theme (the one a projector in a bright room
needs), at 80x24 and 120x40: axis labels, validation over training with its best epoch,
a late divergence's label whole, the message line, the landscape's colour map, a zoomed
plot, the backprop view. Their dark twins are in test_snapshots.py and friends.

After a deliberate change of the look: `--snapshot-update`, then look at the new SVGs.
"""
from __future__ import annotations

import pytest

from engine.training.trainer import Hyperparameters, Setup

from pilot_helpers import make_app, overfitting_app

SIZES = [(80, 24), (120, 40)]
ids = [f"{w}x{h}" for w, h in SIZES]


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_the_lesson_in_light(snap_compare, size):
    assert snap_compare(make_app(pretrain=300, theme_name="light"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_overfitting_in_light(snap_compare, size):
    assert snap_compare(overfitting_app(pretrain=3000, theme_name="light"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_a_late_divergence_in_light(snap_compare, size):
    app = make_app(Setup(), Hyperparameters(learning_rate=3.46e-4, epochs=5000), pretrain=5000, theme_name="light")
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_a_presets_story_on_the_message_line_in_light(snap_compare, size):
    assert snap_compare(make_app(theme_name="light"), terminal_size=size, press=["p", "end", "enter"])


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_the_landscape_in_light(snap_compare, size):
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4), pretrain=100, theme_name="light")
    assert snap_compare(app, terminal_size=size, press=["w"])


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_the_loss_curve_zoomed_in_light(snap_compare, size):
    app = make_app(Setup(input_transform="scale", val_fraction=0.2), Hyperparameters(epochs=5000), pretrain=1000,
                   theme_name="light")
    assert snap_compare(app, terminal_size=size, press=["f"])


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_the_backprop_view_in_light(snap_compare, size):
    assert snap_compare(make_app(theme_name="light"), terminal_size=size, press=["B", "n", "n", "n"])
