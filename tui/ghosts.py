"""Pinned runs (`Ghost`), and how they go into a session file and come back.

A saved ghost is `{"label": str, "epochs": array, "train_loss": array, "val_loss": array or
null, "path": [n, 2] array of (w, b) or null}`. Loading checks each field's type and refuses
anything else with a one-line `SessionError` naming the field (`ghosts[0].epochs ...`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.training.session import SessionError


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


def loss_surface(snapshot) -> str:
    """A name for the (w, b) loss surface a line run descends: its data, columns, split and input."""
    s = snapshot.setup
    split = (s.val_fraction, s.split_seed, s.train_indices, s.val_indices)
    return f"{s.dataset}|{s.x_column}|{s.y_column}|{split}|{snapshot.transform.describe()}"


FIELDS = ("label", "epochs", "train_loss", "val_loss", "path", "surface")


def ghost_to_saved(ghost: Ghost) -> dict:
    return {"label": ghost.label, "epochs": np.asarray(ghost.epochs, dtype=np.float64),
            "train_loss": np.asarray(ghost.train_loss, dtype=np.float64),
            "val_loss": None if ghost.val_loss is None else np.asarray(ghost.val_loss, dtype=np.float64),
            "path": None if ghost.path is None else np.asarray(ghost.path, dtype=np.float64).reshape(-1, 2),
            "surface": ghost.surface}


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
        ghosts.append(Ghost(g["label"], epochs, train, val, path, surface))
    return tuple(ghosts)


def _vector(value, field: str, where: str, size: int | None = None) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "fi":
        raise SessionError(f"{where}: field '{field}' should be an array of numbers")
    if size is not None and value.size != size:
        raise SessionError(f"{where}: field '{field}' holds {value.size} values for {size} epochs")
    return value.astype(np.float64)
