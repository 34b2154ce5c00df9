"""Pinned runs (`Ghost`): what each was, what it recorded, and how it goes into a session
file and comes back.

A saved ghost is `{"label": str, "epochs": array, "train_loss": array, "val_loss": array or
null, "path": [n, 2] array of (w, b) or null, "surface": str or null, "settings": str or
null}`. `settings` is the pinned run's setup string (engine/training/setup_string.py): the
legend says what differs between it and the run on screen, and the table of pinned runs
shows it. Loading checks each field and refuses anything else with a one-line
`SessionError` naming the field (`ghosts[0].epochs ...`); a session saved before `settings`
existed loads, its runs described by their labels only.

A ghost's numbers (final training loss, best validation loss and its epoch) are read from
its own recorded history, the arrays it draws: pinning adds the best validation epoch's
row when the plotted (thinned) history has skipped it, so the minimum of the curve is the
best epoch the run reported.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from engine.training.session import SessionError
from engine.training.setup_string import parse_setup_string
from engine.training.trainer import Hyperparameters, SettingError, Setup


@dataclass(frozen=True)
class Ghost:
    """An earlier run's training loss, pinned to compare the next run against (with its
    validation loss, if it had a split, and its (w, b) path on the landscape, if a line)."""

    label: str
    epochs: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray | None = None
    path: np.ndarray | None = None  # [n, 2] of (w, b), oldest first
    # Which loss surface the path lies on (data and input transform): a path is only
    # meaningful on the landscape of the same data fed the same way.
    surface: str | None = None
    settings: str | None = None  # the pinned run's setup string (None: saved before it was kept)

    @property
    def final_train_loss(self) -> float:
        """The last training loss recorded (inf or NaN if the run diverged there)."""
        return float(self.train_loss[-1])

    @property
    def best_validation(self) -> tuple[float, int] | None:
        """(lowest validation loss, its epoch) in the recorded history, the earliest epoch on
        a tie (as the trainer counts it); None without a split or a finite validation loss."""
        if self.val_loss is None:
            return None
        finite = np.flatnonzero(np.isfinite(self.val_loss))
        if finite.size == 0:
            return None
        i = finite[np.argmin(self.val_loss[finite])]
        return float(self.val_loss[i]), int(self.epochs[i])

    @property
    def pinned_setup(self) -> tuple[Setup, Hyperparameters] | None:
        return None if self.settings is None else _parsed(self.settings)


@lru_cache(maxsize=64)
def _parsed(settings: str) -> tuple[Setup, Hyperparameters] | None:
    try:
        return parse_setup_string(settings)
    except SettingError:
        return None


def with_best_row(epochs: np.ndarray, train: np.ndarray, val: np.ndarray | None, best) -> tuple:
    """The plotted history with the best validation epoch's row put back in its place if the
    thinning skipped it (`best`: the trainer's BestValidation)."""
    if val is None or best.epoch is None or best.train_loss is None or np.any(epochs == best.epoch):
        return epochs, train, val
    at = int(np.searchsorted(epochs, best.epoch))
    return (np.insert(epochs, at, float(best.epoch)), np.insert(train, at, best.train_loss),
            np.insert(val, at, best.val_loss))


# ---------------------------------------------------------------------- what differs
def _number(value: float) -> str:
    return f"{value:g}"


def _input(setup: Setup) -> str:
    if setup.input_transform == "none":
        return "raw"
    if setup.input_transform == "standardize":
        return "std input"
    return f"{_number(setup.input_scale)}×raw"


def _optimizer(hyper: Hyperparameters) -> str:
    if hyper.optimizer == "adam":
        return "Adam"
    if hyper.nesterov:
        return f"Nesterov {_number(hyper.momentum)}"
    return f"SGD m{_number(hyper.momentum)}" if hyper.momentum else "SGD"


def _split(setup: Setup) -> str:
    if setup.train_indices is not None:
        return f"split {len(setup.train_indices)}/{len(setup.val_indices)}"
    return f"val {setup.val_fraction:.0%}" if setup.val_fraction else "no val"


# Setup and Hyperparameters fields said above, in the order a difference is told (the
# others, a field added later included, are told as `name value`).
_TOLD = {"dataset", "x_column", "y_column", "model", "input_transform", "input_scale", "optimizer", "momentum",
         "nesterov", "beta1", "beta2", "learning_rate", "weight_decay", "val_fraction", "train_indices",
         "val_indices", "split_seed", "init_seed", "zero_grad", "dtype", "early_stopping", "epochs", "batch_size",
         "batch_seed"}


def differences(pinned: tuple[Setup, Hyperparameters], setup: Setup, hyper: Hyperparameters) -> list[str]:
    """What the pinned run had that the run on screen does not, most telling first:
    ["lr 0.0001"], ["Adam", "lr 0.1"], ["raw"], ... (empty: the same settings)."""
    ps, ph = pinned
    told = []
    if (ps.dataset, ps.x_column, ps.y_column) != (setup.dataset, setup.x_column, setup.y_column):
        name = ps.dataset.replace("\\", "/").rsplit("/", 1)[-1].removeprefix("csv:")
        columns = "" if ps.x_column is None and ps.y_column is None else f" {ps.x_column or 1}/{ps.y_column or 2}"
        told.append(f"{name}{columns}")
    if ps.model != setup.model:
        told.append("line" if ps.model == "linear" else ps.model)
    if _input(ps) != _input(setup):
        told.append(_input(ps))
    if _optimizer(ph) != _optimizer(hyper):
        told.append(_optimizer(ph))
    if ph.optimizer == "adam" and (ph.beta1, ph.beta2) != (hyper.beta1, hyper.beta2):
        told.append(f"β {_number(ph.beta1)}/{_number(ph.beta2)}")
    if ph.learning_rate != hyper.learning_rate:
        told.append(f"lr {_number(ph.learning_rate)}")
    if ph.weight_decay != hyper.weight_decay:
        told.append(f"wd {_number(ph.weight_decay)}")
    if ph.batch_size != hyper.batch_size:
        told.append("full batch" if ph.batch_size is None else f"batch {ph.batch_size}")
    elif ps.batch_seed != setup.batch_seed and ph.batch_size is not None:
        told.append(f"batch seed {ps.batch_seed}")
    if _split(ps) != _split(setup) or (ps.train_indices, ps.val_indices) != (setup.train_indices, setup.val_indices):
        told.append(_split(ps))
    elif ps.split_seed != setup.split_seed and ps.val_fraction and ps.train_indices is None:
        told.append(f"split seed {ps.split_seed}")
    if ps.init_seed != setup.init_seed and ps.model.startswith("mlp"):
        told.append(f"init seed {ps.init_seed}")
    if ph.zero_grad != hyper.zero_grad:
        told.append("zero_grad on" if ph.zero_grad else "no zero_grad")
    if ps.dtype != setup.dtype:
        told.append(ps.dtype)
    if ph.early_stopping != hyper.early_stopping:
        told.append(f"early stop {'on' if ph.early_stopping else 'off'}")
    for obj, now in ((ps, setup), (ph, hyper)):
        for f in fields(obj):
            if f.name not in _TOLD and f.name not in ("init_w", "init_b", "overfit_patience") \
                    and getattr(obj, f.name) != getattr(now, f.name):
                told.append(f"{f.name} {getattr(obj, f.name)}")
    if ph.epochs != hyper.epochs:
        told.append(f"{ph.epochs:,} epochs")
    return told


def difference_label(ghost: "Ghost", setup: Setup, hyper: Hyperparameters, limit: int = 22) -> str:
    """A pinned run's legend entry: what differs from the run on screen, cut to `limit`."""
    pinned = ghost.pinned_setup
    if pinned is None:
        text = ghost.label  # saved before settings were kept: its description
    else:
        text = ", ".join(differences(pinned, setup, hyper)) or "same settings"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def loss_surface(snapshot) -> str:
    """A name for the (w, b) loss surface a line run descends: its data, columns, split and input."""
    s = snapshot.setup
    split = (s.val_fraction, s.split_seed, s.train_indices, s.val_indices)
    return f"{s.dataset}|{s.x_column}|{s.y_column}|{split}|{snapshot.transform.describe()}"


FIELDS = ("label", "epochs", "train_loss", "val_loss", "path", "surface", "settings")


def ghost_to_saved(ghost: Ghost) -> dict:
    return {"label": ghost.label, "epochs": np.asarray(ghost.epochs, dtype=np.float64),
            "train_loss": np.asarray(ghost.train_loss, dtype=np.float64),
            "val_loss": None if ghost.val_loss is None else np.asarray(ghost.val_loss, dtype=np.float64),
            "path": None if ghost.path is None else np.asarray(ghost.path, dtype=np.float64).reshape(-1, 2),
            "surface": ghost.surface, "settings": ghost.settings}


def ghosts_from_saved(saved, where: str = "session") -> tuple[Ghost, ...]:
    """The ghosts `load_session` returned, as `Ghost`s (Ghost objects pass through)."""
    ghosts = []
    for i, g in enumerate(saved):
        if isinstance(g, Ghost):
            ghosts.append(g)
            continue
        field = f"ghosts[{i}]"
        if not isinstance(g, dict):
            raise SessionError(f"{where}: field '{field}' should be an object with {', '.join(FIELDS)}")
        missing = [name for name in ("label", "epochs", "train_loss") if name not in g]
        if missing:
            raise SessionError(f"{where}: field '{field}.{missing[0]}' is missing")
        unknown = sorted(set(g) - set(FIELDS))
        if unknown:
            raise SessionError(f"{where}: field '{field}.{unknown[0]}' is not a field of a pinned run")
        if not isinstance(g["label"], str):
            raise SessionError(f"{where}: field '{field}.label' should be a string")
        epochs = _vector(g["epochs"], f"{field}.epochs", where)
        train = _vector(g["train_loss"], f"{field}.train_loss", where, len(epochs))
        val = None if g.get("val_loss") is None else _vector(g["val_loss"], f"{field}.val_loss", where, len(epochs))
        path = g.get("path")
        if path is not None:
            if not isinstance(path, np.ndarray) or path.ndim != 2 or path.shape[1] != 2 or path.dtype.kind != "f":
                raise SessionError(f"{where}: field '{field}.path' should be an array of (w, b) pairs, or null")
            path = path.astype(np.float64)
        surface = g.get("surface")
        if surface is not None and not isinstance(surface, str):
            raise SessionError(f"{where}: field '{field}.surface' should be a string, or null")
        settings = g.get("settings")
        if settings is not None:
            if not isinstance(settings, str):
                raise SessionError(f"{where}: field '{field}.settings' should be a setup string, or null")
            try:
                parse_setup_string(settings)
            except SettingError as exc:
                raise SessionError(f"{where}: field '{field}.settings': {exc}") from None
        ghosts.append(Ghost(g["label"], epochs, train, val, path, surface, settings))
    return tuple(ghosts)


def _vector(value, field: str, where: str, size: int | None = None) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "fi":
        raise SessionError(f"{where}: field '{field}' should be an array of numbers")
    if size is not None and value.size != size:
        raise SessionError(f"{where}: field '{field}' holds {value.size} values for {size} epochs")
    return value.astype(np.float64)
