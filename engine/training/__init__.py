"""Kepler's training application, built on the autograd library one level up.

What lives here: the run's settings (`Setup` defines a run, `Hyperparameters` steer it), the
`Trainer` (one epoch per step, every gradient from autograd, divergence and early stopping
as states), the `BackgroundTrainer` that runs it on a thread, the bounded loss `history`,
the chapter's `models`, `session` files and one-line `setup_string`s. The autograd library
(`engine.tensor`, `engine.ops`, `engine.nn`, `engine.optim`) imports nothing from here.
"""
