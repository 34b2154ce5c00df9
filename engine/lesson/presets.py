"""The chapter's experiments, each a ready-made setup.

The app offers them as presets (lesson steps, keys, the command palette); the tests run
each through the same Trainer the app uses and compare with the book's printed numbers
(tests/reference/dlwpt_ch5.json), which live in the tests, not here.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..training.trainer import Hyperparameters, Setup

BOOK_SPLIT = dict(train_indices=(9, 6, 5, 8, 4, 7, 0, 1, 3), val_indices=(2, 10))


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    story: str  # what it shows, in a sentence or two
    setup: Setup
    hyper: Hyperparameters


PRESETS: tuple[Preset, ...] = (
    Preset(
        "start", "Starting loss",
        "w = 1, b = 0 on the raw readings: the prediction is just t_u, and the mean squared "
        "error against t_c is 1763.88.",
        Setup(), Hyperparameters(learning_rate=1e-4, epochs=1),
    ),
    Preset(
        "diverge", "lr = 1e-2 on raw readings",
        "The w-gradient is about 57 times the b-gradient: a step that suits b overshoots in w, "
        "every step overshoots more, and the loss overflows to infinity at epoch 11.",
        Setup(), Hyperparameters(learning_rate=1e-2, epochs=100),
    ),
    Preset(
        "crawl", "lr = 1e-4 on raw readings",
        "Small enough not to explode, but now b barely moves: after 100 epochs the loss is "
        "stuck near 29.",
        Setup(), Hyperparameters(learning_rate=1e-4, epochs=100),
    ),
    Preset(
        "normalise", "Normalised input, lr = 1e-2",
        "Feeding 0.1 * t_u balances the two gradients; the same rate now converges to "
        "w = 5.3671, b = -17.3012 (w = 0.5367 per raw unit), loss 2.927648.",
        Setup(input_transform="scale", input_scale=0.1), Hyperparameters(learning_rate=1e-2, epochs=5000),
    ),
    Preset(
        "adam", "Adam, lr = 1e-1, raw readings",
        "Adam scales each parameter's step by its own gradient history, so it copes with the "
        "unbalanced raw input that made plain SGD diverge.",
        Setup(), Hyperparameters(optimizer="adam", learning_rate=1e-1, epochs=2000),
    ),
    Preset(
        "split", "The book's train/validation split",
        "Nine points train, two validate (indices 2 and 10); after 3000 epochs training loss "
        "3.0125, validation loss 3.5756.",
        Setup(input_transform="scale", input_scale=0.1, **BOOK_SPLIT), Hyperparameters(learning_rate=1e-2, epochs=3000),
    ),
    Preset(
        "overfit", "Too much freedom",
        "A 1-24-1 network on eight training points: the training loss keeps falling while the "
        "validation loss turns upward. That turn is overfitting.",
        Setup(model="mlp:24", input_transform="standardize", val_fraction=0.3, split_seed=3),
        Hyperparameters(optimizer="adam", learning_rate=0.05, epochs=3000),
    ),
)


def preset(key: str) -> Preset:
    for p in PRESETS:
        if p.key == key:
            return p
    raise KeyError(f"unknown preset '{key}': presets are {', '.join(p.key for p in PRESETS)}")
