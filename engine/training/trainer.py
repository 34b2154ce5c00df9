"""The trainer: one epoch of gradient descent at a time, every gradient from autograd.

By default an epoch is one full-batch step and follows the book's loop exactly:

    loss = loss_fn(model(x_train), y_train)   # at the current parameters
    optimizer.zero_grad(); loss.backward()     # autograd fills .grad
    optimizer.step()                           # parameters move

so the loss reported for epoch k is the one computed *before* the k-th update, the
parameters are the ones *after* it, and the gradients are the ones that update used.
The validation loss is computed at the same (pre-update) parameters without a graph.

With a batch size N, an epoch shuffles the training points with the run's own numpy
generator (`rng = np.random.default_rng(batch_seed)`, then `rng.permutation(n)` every
epoch, as a student would write it) and takes ceil(n / N) steps, one per batch of N points
(the last one smaller), each on the mean loss over its batch. The epoch's training loss is
the mean of its batch losses (each measured before its own step); the validation loss is
computed once, on the whole validation set, at the parameters the epoch starts from (where
a full-batch epoch measures it too). Every batch loss is kept in a second, bounded history.

Two kinds of settings: a `Setup` (data, model, input transform, split) defines the run, so
changing it starts over; `Hyperparameters` (optimizer, learning rate, ...) only steer it, so
they change between two epochs and the run continues.

A loss that is not finite is a lesson, not an error: the trainer stops in the `diverged`
state and records the epoch and the gradient sizes that caused it.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Callable, Mapping, NamedTuple

import numpy as np

from .. import ops
from .._grad_mode import no_grad
from .history import HistoryView, LossHistory
from .models import Line, build_model, parse_model
from ..optim import SGD, Adam, Optimizer
from ..tensor import Tensor

OPTIMIZERS = ("sgd", "adam")
TRANSFORMS = ("none", "scale", "standardize")
MAX_EPOCH_BUDGET = 10_000_000
MIN_LEARNING_RATE = 1e-12  # below this a float32 step is lost in rounding: nothing would move
MAX_LEARNING_RATE = 10.0
MAX_SEED = 2**64 - 1  # PyTorch's manual_seed takes the same range
MAX_DATASET_NAME = 4096  # PATH_MAX on Linux: no longer name reaches a file
MAX_POINTS = 10_000_000  # more than any dataset holds (a CSV file is at most 100,000 rows)
MAX_BATCH_SIZE = MAX_POINTS
# An epoch runs whole, between two commands: a batch size that makes thousands of steps an
# epoch on a big file would leave the app deaf for seconds. 1,000 steps of the biggest
# network take a few tenths of a second, as a full-batch epoch on 100,000 points does.
MAX_STEPS_PER_EPOCH = 1000


class SettingError(ValueError):
    """A setting is out of range; the message names it and what is allowed."""


# ---------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Hyperparameters:
    """Settings that steer a run; changing them continues the run."""

    optimizer: str = "sgd"
    learning_rate: float = 1e-2
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    zero_grad: bool = True  # off: gradients accumulate across epochs (the classic bug)
    epochs: int = 5000  # the epoch budget: the run finishes there
    early_stopping: bool = False
    overfit_patience: int = 100  # epochs of rising validation loss before "overfitting"
    batch_size: int | None = None  # None: full batch (the chapter's); N: shuffled mini-batches of N points

    def validate(self) -> "Hyperparameters":
        if self.optimizer not in OPTIMIZERS:
            raise SettingError(f"optimizer '{self.optimizer}' is not one of {', '.join(OPTIMIZERS)}")
        _positive("learning rate", self.learning_rate, high=MAX_LEARNING_RATE, low=MIN_LEARNING_RATE)
        _in_range("momentum", self.momentum, 0.0, 1.0, open_high=True)
        _in_range("weight decay", self.weight_decay, 0.0, 1.0)
        _in_range("beta1", self.beta1, 0.0, 1.0, open_high=True)
        _in_range("beta2", self.beta2, 0.0, 1.0, open_high=True)
        if self.nesterov and self.momentum <= 0:
            raise SettingError("nesterov needs a momentum above 0")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= MAX_EPOCH_BUDGET):
            raise SettingError(f"epochs must be a whole number in 1..{MAX_EPOCH_BUDGET:,} (got {self.epochs})")
        if not (isinstance(self.overfit_patience, int) and self.overfit_patience >= 1):
            raise SettingError(f"overfit patience must be a whole number >= 1 (got {self.overfit_patience})")
        size = self.batch_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH_SIZE):
            raise SettingError(f"batch size must be a whole number in 1..{MAX_BATCH_SIZE:,}, or full "
                               f"(got {_clip(size)})")
        return self


@dataclass(frozen=True)
class Setup:
    """Settings that define a run; changing any of them starts it over."""

    dataset: str = "thermometer"
    model: str = "linear"  # linear | poly:K | mlp:H
    input_transform: str = "none"  # none | scale | standardize
    input_scale: float = 0.1  # the book's t_un = 0.1 * t_u
    val_fraction: float = 0.0  # 0: no split, train on every point (the chapter's first runs)
    split_seed: int = 0
    train_indices: tuple | None = None  # an explicit split (the book's printed one)
    val_indices: tuple | None = None
    init_seed: int = 0
    batch_seed: int = 0  # seeds the generator that shuffles the points for mini-batches
    # Where the line starts (the book's w = 1, b = 0); the landscape view moves it. Other
    # models ignore it.
    init_w: float = 1.0
    init_b: float = 0.0
    dtype: str = "float32"
    # A user's CSV file: `dataset` is its path (or `csv:path`), and these choose its columns
    # by header name or position from 1 (None: the first two columns).
    x_column: str | int | None = None
    y_column: str | int | None = None

    def validate(self) -> "Setup":
        from data import is_file_reference  # data imports numpy only

        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise SettingError(f"dataset must be a built-in name or a CSV file (got {self.dataset!r})")
        if len(self.dataset) > MAX_DATASET_NAME:
            raise SettingError(f"dataset name '{self.dataset[:40]}…' is {len(self.dataset)} characters long; "
                               f"a dataset or file name has at most {MAX_DATASET_NAME}")
        for role, column in (("x", self.x_column), ("y", self.y_column)):
            if column is not None and (isinstance(column, bool) or not isinstance(column, (str, int))):
                raise SettingError(f"{role} column must be a name or a position from 1 (got {column!r})")
            if column is not None and not is_file_reference(self.dataset):
                raise SettingError(f"{role} column: columns can only be chosen in a CSV file, "
                                   f"not in the built-in dataset '{self.dataset}'")
        parse_model_or_raise(self.model)
        if self.input_transform not in TRANSFORMS:
            raise SettingError(f"input transform '{self.input_transform}' is not one of {', '.join(TRANSFORMS)}")
        if self.input_transform == "scale":
            _positive("input scale", self.input_scale, high=1e6)
        if not (isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 1):
            raise SettingError(f"validation fraction must be in [0, 1) (got {self.val_fraction})")
        for name, value in (("initial w", self.init_w), ("initial b", self.init_b)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SettingError(f"{name} must be a finite number (got {value!r})")
        if self.dtype not in ("float32", "float64"):
            raise SettingError(f"dtype '{self.dtype}' is not one of float32, float64")
        for name, seed in (("split seed", self.split_seed), ("initial-weights seed", self.init_seed),
                           ("batch seed", self.batch_seed)):
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
                raise SettingError(f"{name} must be a whole number in 0..{MAX_SEED} (got {seed!r})")
        if (self.train_indices is None) != (self.val_indices is None):
            raise SettingError("an explicit split needs both train and validation indices")
        for role, indices in (("training", self.train_indices), ("validation", self.val_indices)):
            if indices is None:
                continue
            if not isinstance(indices, (tuple, list)):
                raise SettingError(f"{role} indices must be a list of point numbers (got {indices!r})")
            for index in indices:
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_POINTS:
                    raise SettingError(f"{role} index {_clip(index)} is not a point number (0, 1, 2, ...)")
        return self


# What `kepler` and `kepler train` (and a setup string's left-out keys) start from: the
# book's normalised input t_un = 0.1 * t_u, which converges at the default learning rate.
# `Setup()` itself stays the book's raw readings (its first, diverging run: `--raw`).
DEFAULT_SETUP = Setup(input_transform="scale", input_scale=0.1)


def _clip(value, limit: int = 24) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_model_or_raise(spec: str) -> tuple[str, int]:
    try:
        return parse_model(spec)
    except ValueError as exc:
        raise SettingError(str(exc)) from None


def _check_steps(hyper: Hyperparameters, n_train: int) -> None:
    """SettingError when `hyper`'s batch size makes more than MAX_STEPS_PER_EPOCH steps an epoch."""
    size = hyper.batch_size
    if size is not None and -(-n_train // size) > MAX_STEPS_PER_EPOCH:
        smallest = -(-n_train // MAX_STEPS_PER_EPOCH)
        raise SettingError(f"batch size {size} would take {-(-n_train // size):,} steps an epoch on {n_train:,} "
                           f"training points; at most {MAX_STEPS_PER_EPOCH:,}: a batch of {smallest:,} or more")


def _positive(name: str, value, high: float, low: float = 0.0) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise SettingError(f"{name} must be a positive number (got {value})")
    if value < low:
        raise SettingError(f"{name} must be at least {low:g} (got {value:g})")
    if value > high:
        raise SettingError(f"{name} must be at most {high:g} (got {value:g})")


def _in_range(name: str, value, low: float, high: float, open_high: bool = False) -> None:
    bad = not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
    if bad or value < low or (value >= high if open_high else value > high):
        bracket = ")" if open_high else "]"
        raise SettingError(f"{name} must be in [{low:g}, {high:g}{bracket} (got {value})")


# ---------------------------------------------------------------------- what a listener sees
@dataclass(frozen=True)
class InputTransform:
    """How raw readings become model input: x_in = (x_raw - shift) * scale."""

    kind: str = "none"
    shift: float = 0.0
    scale: float = 1.0

    def apply(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "none":
            return x
        return (x - self.shift) * self.scale

    def describe(self) -> str:
        if self.kind == "none":
            return "raw input"
        if self.kind == "scale":
            return f"x = {self.scale:g} * raw"
        return f"x = (raw - {self.shift:.4g}) / {1 / self.scale:.4g}"

    def line_in_raw_units(self, w: float, b: float) -> tuple[float, float]:
        """The (w, b) that give the same line when fed raw readings."""
        return w * self.scale, b - w * self.scale * self.shift


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    val: np.ndarray


def make_split(setup: Setup, n: int) -> Split:
    """Which of `n` points train and which validate, as the setup says; SettingError when
    the split is impossible (indices beyond the data, no point left to validate)."""
    if setup.train_indices is not None:
        every = [*setup.train_indices, *setup.val_indices]
        outside = [i for i in every if not 0 <= i < n]  # plain ints: no overflow, however large
        if outside:
            raise SettingError(f"split index {_clip(outside[0])} is outside the data's points 0..{n - 1}")
        train = np.asarray(setup.train_indices, dtype=np.int64)
        val = np.asarray(setup.val_indices, dtype=np.int64)
        if len(set(every)) != len(every):
            raise SettingError("a point cannot be both in training and validation (or twice in one)")
        if train.size < 2:
            raise SettingError("the training split needs at least 2 points")
        return Split(train, val)
    if setup.val_fraction == 0:
        return Split(np.arange(n), np.arange(0))
    # As the book does: shuffle, the last int(fraction * n) indices validate.
    n_val = int(setup.val_fraction * n)
    if n_val < 1:
        raise SettingError(f"validation fraction {setup.val_fraction:g} of {n} points leaves no validation point")
    if n - n_val < 2:
        raise SettingError(f"validation fraction {setup.val_fraction:g} of {n} points leaves fewer than 2 to train on")
    order = np.random.default_rng(setup.split_seed).permutation(n)
    return Split(order[:-n_val], order[-n_val:])


@dataclass(frozen=True)
class Divergence:
    """Why and where a run stopped: the loss stopped being a finite number."""

    epoch: int
    loss: float
    grad_norms: Mapping[str, float]
    params: Mapping[str, np.ndarray]

    @property
    def reason(self) -> str:
        return "the loss is NaN (not a number)" if math.isnan(self.loss) else "the loss overflowed to infinity"

    def grad_ratio(self) -> tuple[str, str, float] | None:
        """(largest, smallest, ratio) of the per-parameter gradient sizes, if meaningful."""
        finite = {k: v for k, v in self.grad_norms.items() if math.isfinite(v)}
        if len(finite) < 2:
            return None
        hi = max(finite, key=finite.get)
        lo = min(finite, key=finite.get)
        if finite[lo] == 0:
            return None
        return hi, lo, finite[hi] / finite[lo]


@dataclass(frozen=True)
class BestValidation:
    """The epoch with the lowest validation loss so far: what early stopping restores.

    An epoch's losses are measured at the parameters *before* its update, so `params` are
    the parameters the previous epoch left: restoring them gives back exactly `val_loss`
    and `train_loss`, and `grads` are the gradients computed there (None: not recorded).
    With mini-batches `train_loss` is that epoch's mean over its batches, measured as its
    steps went, and `grads` those of its last batch."""

    epoch: int | None = None
    val_loss: float = math.inf
    train_loss: float | None = None
    params: tuple | None = None  # read-only arrays, one per parameter
    grads: tuple | None = None
    steps: int | None = None  # optimizer steps taken by the end of that epoch (None: not recorded)


@dataclass(frozen=True)
class EpochLosses:
    """The losses of the latest epoch, measured before its update."""

    epoch: int
    train_loss: float
    val_loss: float | None


@dataclass(frozen=True)
class Snapshot:
    """Everything a view needs about one moment of a run; immutable and safe to share."""

    epoch: int  # updates applied so far (0: nothing trained yet); after early stopping, the best epoch
    train_loss: float  # at the parameters before this epoch's update
    val_loss: float | None  # idem, on the validation points; None without a split
    params: Mapping[str, np.ndarray]  # after the update
    grads: Mapping[str, np.ndarray]  # the gradients that update used
    update: Mapping[str, np.ndarray]  # how much each parameter just moved
    state: str  # ready | running | paused | diverged | finished
    setup: Setup
    hyper: Hyperparameters
    transform: InputTransform
    history: HistoryView
    fit_x: np.ndarray  # raw readings spanning the data
    fit_y: np.ndarray  # the model's prediction there
    divergence: Divergence | None = None
    warning: str | None = None  # e.g. the loss is exploding, before it overflows
    best_val_epoch: int | None = None
    best_val_loss: float | None = None
    overfitting_since: int | None = None
    stopped_early: bool = False  # early stopping restored the best epoch: `epoch` and the rest describe it
    stopped_at: int | None = None  # after early stopping: the last epoch trained (the history runs to it)
    raw_line: tuple[float, float] | None = None  # (w, b) for raw input, linear model only
    epochs_per_second: float = 0.0
    step_count: int = 0  # optimizer steps taken (equals epoch with full batches: one step per epoch)
    speed_limit: float | None = None  # epochs per second the runner allows (None: as fast as it goes)
    dataset: object = None  # the points the run trains on (data.Dataset; read-only arrays)
    split: Split | None = None  # which of them train and which validate
    batch_history: HistoryView | None = None  # each mini-batch step's loss, at fractional epochs (empty: none)
    steps_per_epoch: int = 1  # ceil(training points / batch size); 1 with full batches

    @property
    def diverged(self) -> bool:
        return self.divergence is not None


class _Frame(NamedTuple):
    """Everything that decides what the next epochs do and what a view shows, at the end of
    one epoch: rewinding to a frame restores the run exactly as it was then, so stepping on
    from there replays the same run bit for bit. Its arrays are copies nobody mutates."""

    epoch: int
    state: str
    stopped_early: bool
    hyper: "Hyperparameters"
    params: list  # after the epoch's update
    grads: list  # the gradients that update used (None: no gradient yet)
    optimizer_state: list  # per parameter: the optimizer's state for it (momentum, Adam moments), or None
    last: tuple | None  # (train_loss, val_loss, grads, update) of this epoch; None at the start
    best_val: "BestValidation"
    first_loss: float | None
    divergence: "Divergence | None"
    history_mark: tuple
    steps: int  # optimizer steps taken so far
    batch_rng: dict  # the shuffling generator's state (numpy's bit_generator.state)
    batch_mark: tuple  # where the batch-loss history was


def _mark_dict(mark: tuple) -> dict:
    """A history mark as a state_dict holds it (the generation is the history's own)."""
    _, n, width, open_bucket, total = mark
    return {"buckets": n, "width": width, "open": None if open_bucket is None else list(open_bucket), "epochs": total}


def _rng_dict(state: Mapping) -> dict:
    """numpy's PCG64 state as four whole numbers: what it takes to draw the same shuffles."""
    return {"state": state["state"]["state"], "inc": state["state"]["inc"],
            "has_uint32": state["has_uint32"], "uinteger": state["uinteger"]}


def _rng_state(saved: Mapping, what: str) -> dict:
    """The inverse of `_rng_dict`, every number checked; ValueError naming `what`."""
    numbers = {}
    for key, high in (("state", 2**128), ("inc", 2**128), ("has_uint32", 2), ("uinteger", 2**32)):
        value = saved[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < high:
            raise ValueError(f"{what} {key} must be a whole number in 0..{high - 1} (got {_clip(value)})")
        numbers[key] = int(value)
    if numbers["inc"] % 2 == 0:
        raise ValueError(f"{what} inc must be odd, as PCG64's increment always is (got {numbers['inc']})")
    return {"bit_generator": "PCG64", "state": {"state": numbers["state"], "inc": numbers["inc"]},
            "has_uint32": numbers["has_uint32"], "uinteger": numbers["uinteger"]}


def _copied(entry: Mapping) -> dict:
    """An optimizer's per-parameter state, with its arrays copied."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in entry.items()}


def _read_only(arrays) -> tuple:
    out = []
    for a in arrays:
        if a is not None:
            a = np.array(a)
            a.flags.writeable = False
        out.append(a)
    return tuple(out)


def _frozen(d: dict) -> Mapping:
    for v in d.values():
        if isinstance(v, np.ndarray):
            v.flags.writeable = False
    return MappingProxyType(d)


# ---------------------------------------------------------------------- the trainer
class Trainer:
    """Training of one model on one dataset (full batch, or shuffled mini-batches), one
    epoch per `step()`."""

    REWIND_DEPTH = 256

    def __init__(self, setup: Setup | None = None, hyper: Hyperparameters | None = None,
                 dataset=None, history_capacity: int = 2048):
        self._dataset_override = dataset
        self._history_capacity = history_capacity
        self.hyper = (hyper or Hyperparameters()).validate()
        self.reset(setup or Setup())

    # ------------------------------------------------------------------ run definition
    def reset(self, setup: Setup | None = None, dataset=None, hyper: Hyperparameters | None = None) -> None:
        """Start the run over (with a new setup, dataset or hyperparameters if given).

        Everything that can fail (the setup, loading the data, the split) is done before
        the first attribute changes: a bad setup raises SettingError and leaves the current
        run exactly as it was, so an app can refuse it and carry on."""
        setup = (setup or self.setup).validate()
        hyper = (hyper or self.hyper).validate()
        override = dataset if dataset is not None else self._dataset_override
        data = self._load_dataset(setup, override)
        split = make_split(setup, len(data))
        _check_steps(hyper, len(split.train))
        dtype = np.dtype(setup.dtype)
        transform = self._make_transform(setup, data.x[split.train])
        model = build_model(setup.model, seed=setup.init_seed, dtype=dtype, line_start=(setup.init_w, setup.init_b))
        for array in (data.x, data.y, split.train, split.val):  # shared with every snapshot
            array.flags.writeable = False
        # Nothing below raises: the new run replaces the old one as a whole.
        self._dataset_override = override
        self.hyper = hyper
        self.dataset = data
        self.setup = setup
        self._dtype = dtype
        self.split = split
        self.transform = transform
        x = self.transform.apply(data.x.astype(self._dtype))  # in the run's dtype, as PyTorch computes 0.1 * t_u
        y = data.y.astype(self._dtype)
        self._x_train = Tensor(x[self.split.train])
        self._y_train = Tensor(y[self.split.train])
        self._x_val = Tensor(x[self.split.val]) if self.split.val.size else None
        self._y_val = Tensor(y[self.split.val]) if self.split.val.size else None
        self.model = model
        self._named = list(self.model.named_parameters())
        self._params = [p for _, p in self._named]
        self.optimizer = self._make_optimizer()
        self.history = LossHistory(self._history_capacity)
        self.batch_history = LossHistory(self._history_capacity, whole_epochs=False)
        self._batch_rng = np.random.default_rng(setup.batch_seed)
        self.steps = 0  # optimizer steps taken
        self._rewind: deque = deque(maxlen=self.REWIND_DEPTH)
        self.epoch = 0
        self.state = "ready"
        self.divergence: Divergence | None = None
        self.stopped_early = False
        self._best_val = BestValidation()
        self._first_loss: float | None = None
        self._last = None  # (train_loss, val_loss, grads, update) of the latest epoch
        self._rate = (time.perf_counter(), 0, 0.0)  # (time, epoch, epochs/s) for the speed readout
        self._rewind.append(self._frame())

    @staticmethod
    def _load_dataset(setup: Setup, override):
        """The dataset the setup names: the one handed in if it is that one (a session's
        embedded points, an edited copy), else a built-in or the user's file, loaded now."""
        from data import load_dataset  # data imports numpy only

        if override is not None and setup.dataset == override.name:
            return override
        try:
            return load_dataset(setup.dataset, setup.x_column, setup.y_column)
        except ValueError as exc:  # DataError: one line naming the file, line and problem
            raise SettingError(str(exc)) from None

    @staticmethod
    def _make_transform(setup: Setup, x_train: np.ndarray) -> InputTransform:
        if setup.input_transform == "scale":
            return InputTransform("scale", 0.0, float(setup.input_scale))
        if setup.input_transform == "standardize":
            std = float(np.std(x_train))
            return InputTransform("standardize", float(np.mean(x_train)), 1.0 / std if std > 0 else 1.0)
        return InputTransform()

    def _make_optimizer(self, params: list | None = None, hyper: Hyperparameters | None = None) -> Optimizer:
        h = hyper or self.hyper
        params = self._params if params is None else params
        if h.optimizer == "adam":
            return Adam(params, lr=h.learning_rate, betas=(h.beta1, h.beta2), weight_decay=h.weight_decay)
        return SGD(params, lr=h.learning_rate, momentum=h.momentum, nesterov=h.nesterov,
                   weight_decay=h.weight_decay)

    # ------------------------------------------------------------------ steering
    def set_hyperparameters(self, **changes) -> Hyperparameters:
        """Change optimizer settings between epochs; the run (and, where the optimizer
        kind is unchanged, its momentum/Adam state) continues."""
        unknown = set(changes) - {f.name for f in fields(Hyperparameters)}
        if unknown:
            raise SettingError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
        new = replace(self.hyper, **changes).validate()
        _check_steps(new, len(self.split.train))
        old = self.hyper
        self.hyper = new
        if new.optimizer != old.optimizer:
            self.optimizer = self._make_optimizer()
        else:
            for group in self.optimizer.param_groups:
                group["lr"] = new.learning_rate
                group["weight_decay"] = new.weight_decay
                if new.optimizer == "sgd":
                    group["momentum"] = new.momentum
                    group["nesterov"] = new.nesterov
                else:
                    group["betas"] = (new.beta1, new.beta2)
        if self.state == "finished" and self.epoch < new.epochs and not self.stopped_early:
            self.state = "paused"
        # The newest frame is this epoch as it is now: stepping back to it later brings these
        # hyperparameters (and a switched optimizer) back too.
        self._rewind[-1] = self._frame()
        return new

    @property
    def can_step(self) -> bool:
        return self.state not in ("diverged", "finished")

    # ------------------------------------------------------------------ training
    def step(self) -> Snapshot:
        """Train one epoch and return what happened (no-op once diverged or finished)."""
        if self.can_step:
            with np.errstate(all="ignore"):  # overflow is reported as divergence, not warnings
                self.advance()
        return self.snapshot()

    def train(self, epochs: int, on_epoch: Callable[["Trainer"], None] | None = None) -> Snapshot:
        """Run up to `epochs` epochs (stopping early on divergence or the budget)."""
        with np.errstate(all="ignore"):  # overflow is reported as divergence, not warnings
            for _ in range(epochs):
                if not self.can_step:
                    break
                self.advance()
                if on_epoch is not None:
                    on_epoch(self)
        return self.snapshot()

    def steps_per_epoch(self, hyper: Hyperparameters | None = None) -> int:
        """Optimizer steps an epoch takes: ceil(n / N) for a batch size N, 1 for full batch."""
        size = (hyper or self.hyper).batch_size
        return 1 if size is None else -(-len(self.split.train) // size)

    def advance(self) -> None:
        """One epoch (one step per batch: loss, backward, optimizer step); then the epoch's
        frame is kept."""
        model, optimizer, params = self.model, self.optimizer, self._params
        val_loss = None
        if self._x_val is not None:
            with no_grad():
                val_loss = float(ops.mse_loss(model(self._x_val), self._y_val).data)
        epoch = self.epoch + 1
        size = self.hyper.batch_size
        if size is None:  # the book's loop: every training point, in order, one step
            batches = [None]
        else:
            order = self._batch_rng.permutation(len(self.split.train))
            batches = [order[start:start + size] for start in range(0, order.size, size)]
        total, taken = 0.0, 0
        for rows in batches:
            if rows is None:
                x, y = self._x_train, self._y_train
            else:
                x, y = Tensor(self._x_train.data[rows]), Tensor(self._y_train.data[rows])
            if self.hyper.zero_grad:
                optimizer.zero_grad()
            loss = ops.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            batch_loss = float(loss.data)
            total += batch_loss  # in order, as `epoch_loss += loss.item()` adds them
            taken += 1
            self.steps += 1
            if rows is not None:
                self.batch_history.append(epoch - 1 + taken / len(batches), batch_loss)
            if not math.isfinite(batch_loss):
                break  # diverged: the rest of the epoch would only compute NaN
        train_loss = total / taken
        self.epoch = epoch
        if self.state == "ready":
            self.state = "paused"  # trained a little: no longer at the start
        before = self._rewind[-1].params  # the newest frame holds the parameters before this update
        grads = [None if p.grad is None else p.grad.data.copy() for p in params]
        update = [p.data - b for p, b in zip(params, before)]
        self._last = (train_loss, val_loss, grads, update)
        self.history.append(epoch, train_loss, val_loss)
        if self._first_loss is None:
            self._first_loss = train_loss
        if not math.isfinite(train_loss):
            self._diverge(epoch, train_loss)
        else:
            if val_loss is not None:
                self._track_validation(epoch, train_loss, val_loss, before, grads)
            if epoch >= self.hyper.epochs:
                self.state = "finished"
        self._rewind.append(self._frame())
        oldest = self._rewind[0]
        self.history.forget_merges_before(oldest.history_mark[0])
        self.batch_history.forget_merges_before(oldest.batch_mark[0])

    def _diverge(self, epoch: int, loss: float) -> None:
        norms = {}
        for name, p in self._named:  # every parameter has a gradient: backward just ran
            with np.errstate(over="ignore", invalid="ignore"):
                norms[name] = float(np.sqrt(np.sum(np.square(p.grad.data.astype(np.float64)))))
        params = {name: p.data.copy() for name, p in self._named}
        self.divergence = Divergence(epoch, loss, MappingProxyType(norms), _frozen(params))
        self.state = "diverged"

    def _track_validation(self, epoch: int, train_loss: float, val_loss: float,
                          params_before: list, grads: list) -> None:
        if val_loss < self._best_val.val_loss:
            # Measured at the parameters before this epoch's update (the newest frame's, never
            # written to again): early stopping restores exactly these.
            self._best_val = BestValidation(epoch, val_loss, train_loss, tuple(params_before), tuple(grads),
                                            self.steps)
        elif self.hyper.early_stopping and self.overfitting_since is not None:
            self._restore_best()

    def _restore_best(self) -> None:
        """Go back to the best validation epoch's parameters and finish there. The history
        keeps the epochs after it (the rise is the lesson); the snapshot describes the best
        epoch and says where training stopped (`stopped_at`)."""
        best = self._best_val
        if best.params is None:
            return
        with no_grad():
            for p, saved in zip(self._params, best.params):
                p.data[...] = saved
        grads = best.grads if best.grads is not None else self._gradients_here()
        for p, grad in zip(self._params, grads):
            p.grad = None if grad is None else Tensor(np.array(grad))
        train_loss = best.train_loss if best.train_loss is not None else self.current_loss()[0]
        # Nothing moved these parameters: they were put back.
        self._last = (train_loss, best.val_loss, [None if p.grad is None else p.grad.data for p in self._params],
                      [np.zeros_like(p.data) for p in self._params])
        self.stopped_early = True
        self.state = "finished"

    def _gradients_here(self) -> list:
        """The training loss's gradients at the current parameters, the run's .grad untouched."""
        saved = [p.grad for p in self._params]
        for p in self._params:
            p.grad = None
        ops.mse_loss(self.model(self._x_train), self._y_train).backward()
        grads = [None if p.grad is None else p.grad.data.copy() for p in self._params]
        for p, g in zip(self._params, saved):
            p.grad = g
        return grads

    @property
    def best_validation(self) -> BestValidation:
        """The epoch with the lowest validation loss so far and its losses (epoch None: none
        yet). Frozen: what the trainer recorded, not a way to change it."""
        return self._best_val

    @property
    def overfitting_since(self) -> int | None:
        """The best validation epoch, once the validation loss has not improved on it for
        `overfit_patience` epochs and is above it now."""
        best_loss, best_epoch = self._best_val.val_loss, self._best_val.epoch
        if best_epoch is None or self._last is None:
            return None
        if self.epoch - best_epoch < self.hyper.overfit_patience:
            return None
        current_val = self._last[1]
        if current_val is None or current_val <= best_loss:
            return None
        return best_epoch

    # ------------------------------------------------------------------ stepping back
    def _frame(self) -> _Frame:
        """The run as it is now, for stepping back to later (see `_Frame`)."""
        kept = self._last
        state = self.optimizer.state
        optimizer_state = [None if id(p) not in state else _copied(state[id(p)]) for p in self._params] if state \
            else [None] * len(self._params)
        return _Frame(
            epoch=self.epoch, state=self.state, stopped_early=self.stopped_early, hyper=self.hyper,
            params=[p.data.copy() for p in self._params],
            grads=kept[2] if kept is not None else [None if p.grad is None else p.grad.data.copy() for p in self._params],
            optimizer_state=optimizer_state, last=kept, best_val=self._best_val, first_loss=self._first_loss,
            divergence=self.divergence, history_mark=self.history.mark(), steps=self.steps,
            batch_rng=self._batch_rng.bit_generator.state, batch_mark=self.batch_history.mark())

    def rewind(self, epochs: int = 1) -> int:
        """Go back up to `epochs` epochs; returns the epoch reached. Everything comes back as
        it was at the end of that epoch (parameters, gradients, optimizer state, the
        hyperparameters then in force, history, best validation, divergence), so stepping on
        replays the same run bit for bit."""
        if len(self._rewind) <= 1 or epochs <= 0:
            return self.epoch
        for _ in range(min(epochs, len(self._rewind) - 1)):
            self._rewind.pop()
        self._restore(self._rewind[-1])
        return self.epoch

    def _restore(self, frame: _Frame) -> None:
        self.hyper = frame.hyper
        optimizer = self._make_optimizer()
        with no_grad():
            for p, saved, grad, entry in zip(self._params, frame.params, frame.grads, frame.optimizer_state):
                p.data[...] = saved
                p.grad = None if grad is None else Tensor(grad.copy())
                if entry is not None:
                    optimizer.state[id(p)] = _copied(entry)
        self.optimizer = optimizer
        self.epoch = frame.epoch
        self.state = "paused" if frame.state == "running" else frame.state
        self.stopped_early = frame.stopped_early
        self._last = frame.last
        self._best_val = frame.best_val
        self._first_loss = frame.first_loss
        self.divergence = frame.divergence
        self.history.restore(frame.history_mark)
        self.steps = frame.steps
        self._batch_rng.bit_generator.state = frame.batch_rng
        self.batch_history.restore(frame.batch_mark)

    @property
    def rewind_depth(self) -> int:
        return len(self._rewind) - 1

    # ------------------------------------------------------------------ saving and restoring
    def state_dict(self) -> dict:
        """Everything that decides what the next epochs do, as numpy arrays and plain
        Python values: the current moment (parameters, gradients (they matter when they
        accumulate), optimizer state (momentum buffers, Adam moments and step), epoch,
        best-validation tracking, divergence), the loss history, and every rewind frame in
        the same form plus the hyperparameters then in force. The setup, the current
        hyperparameters and the dataset are not in it: they are what a Trainer is built
        from (see `from_state`)."""
        state = self._frame_dict(self._frame())
        del state["hyper"], state["history_mark"], state["batch_history_mark"]
        # A frame from before a history's latest merge needs the buckets that merge replaced,
        # which only live in memory: those frames stay behind.
        now = (self.history.generation, self.batch_history.generation)
        state.update(param_names=[name for name, _ in self._named], history=self.history.to_dict(),
                     batch_history=self.batch_history.to_dict(),
                     rewind=[self._frame_dict(f) for f in self._rewind
                             if (f.history_mark[0], f.batch_mark[0]) == now])
        return state

    def _frame_dict(self, frame: _Frame) -> dict:
        best = frame.best_val
        last = None
        if frame.last is not None:
            train_loss, val_loss, _, update = frame.last
            last = {"train_loss": train_loss, "val_loss": val_loss, "update": [u.copy() for u in update]}
        d = frame.divergence
        return {
            "epoch": frame.epoch,
            "state": frame.state,
            "stopped_early": frame.stopped_early,
            "hyper": {f.name: getattr(frame.hyper, f.name) for f in fields(frame.hyper)},
            "params": [a.copy() for a in frame.params],
            "grads": [None if g is None else g.copy() for g in frame.grads],
            "optimizer": {"kind": frame.hyper.optimizer,
                          "state": {i: _copied(entry) for i, entry in enumerate(frame.optimizer_state) if entry is not None}},
            "best_val": {"loss": None if best.epoch is None else best.val_loss, "epoch": best.epoch,
                         "params": None if best.params is None else [a.copy() for a in best.params],
                         "train_loss": best.train_loss,
                         "grads": None if best.grads is None else [None if g is None else g.copy() for g in best.grads],
                         "steps": best.steps},
            "first_loss": frame.first_loss,
            "last": last,
            "divergence": None if d is None else {
                "epoch": d.epoch, "loss": d.loss, "grad_norms": dict(d.grad_norms),
                "params": {name: np.array(v) for name, v in d.params.items()}},
            "history_mark": _mark_dict(frame.history_mark),
            "steps": frame.steps,
            "batch_rng": _rng_dict(frame.batch_rng),
            "batch_history_mark": _mark_dict(frame.batch_mark),
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Continue from a `state_dict()` taken from a Trainer with the same setup,
        hyperparameters and dataset. Everything is checked before anything changes: a
        mismatch raises ValueError naming the field, and the trainer is left as it was.

        A state saved before mini-batches (no `steps`, `batch_rng`, `batch_history`) was a
        full-batch run: one step per epoch, its generator never drawn from."""
        names = [name for name, _ in self._named]
        if list(state["param_names"]) != names:
            raise ValueError(f"param_names {list(state['param_names'])} do not match the model's {names}")
        history = LossHistory.from_dict(state["history"])
        epoch = self._checked_epoch("epoch", state["epoch"])
        if history.total_epochs != epoch:
            raise ValueError(f"history covers {history.total_epochs} epochs, but the run is at epoch {epoch}")
        saved_batches = state.get("batch_history")
        batch_history = (LossHistory(history.capacity, whole_epochs=False) if saved_batches is None
                         else LossHistory.from_dict(saved_batches, whole_epochs=False))
        now = dict(state, hyper=self.hyper, history_mark=history.mark(), batch_history_mark=batch_history.mark())
        current = self._frame_from_dict(now, "trainer", history, batch_history)
        frames = [self._frame_from_dict(f, f"rewind[{i}]", history, batch_history) for i, f in enumerate(state["rewind"])]
        if len(frames) > self.REWIND_DEPTH:
            raise ValueError(f"rewind holds {len(frames)} frames; a trainer keeps at most {self.REWIND_DEPTH}")
        for i, (older, newer) in enumerate(zip(frames, frames[1:])):
            if newer.epoch != older.epoch + 1:
                raise ValueError(f"rewind[{i + 1}] is epoch {newer.epoch}, not the one after epoch {older.epoch}")
        if frames and frames[-1].epoch != epoch:
            raise ValueError(f"the newest rewind frame is epoch {frames[-1].epoch}, not the current epoch {epoch}")
        if batch_history.total_epochs > current.steps:
            raise ValueError(f"batch_history holds {batch_history.total_epochs} steps, but the run took {current.steps}")
        # Every check passed: from here on nothing raises.
        self.history = history
        self.batch_history = batch_history
        self._history_capacity = history.capacity
        self._restore(current)
        self._rewind = deque(frames or [current], maxlen=self.REWIND_DEPTH)
        self._rate = (time.perf_counter(), epoch, 0.0)

    def _frame_from_dict(self, state: Mapping, what: str, history: LossHistory, batch_history: LossHistory) -> _Frame:
        """A frame from its `_frame_dict` form, every field checked against this model;
        ValueError naming the field (prefixed with `what`) when something is off."""
        names = [name for name, _ in self._named]
        epoch = self._checked_epoch(f"{what} epoch", state["epoch"])
        hyper = state["hyper"]
        if not isinstance(hyper, Hyperparameters):
            try:
                hyper = Hyperparameters(**hyper).validate()
                _check_steps(hyper, len(self.split.train))
            except (TypeError, SettingError) as exc:
                raise ValueError(f"{what} hyper: {exc}") from None
        params = self._checked_arrays(f"{what} params", state["params"])
        grads = self._checked_arrays(f"{what} grads", state["grads"], allow_none=True)
        run_state = "paused" if state["state"] == "running" else state["state"]
        if run_state not in ("ready", "paused", "diverged", "finished"):
            raise ValueError(f"{what} state '{state['state']}' is not one of ready, running, paused, diverged, finished")
        kind = state["optimizer"]["kind"]
        if kind != hyper.optimizer:
            raise ValueError(f"{what} optimizer state is for '{kind}', but the hyperparameters say '{hyper.optimizer}'")
        optimizer_state = self._checked_optimizer_state(f"{what} optimizer state", state["optimizer"]["state"], hyper)

        best_val = self._checked_best(state["best_val"], epoch)

        divergence = None
        if state["divergence"] is not None:
            d = state["divergence"]
            d_epoch = self._checked_epoch(f"{what} divergence epoch", d["epoch"])
            if d_epoch > epoch:
                raise ValueError(f"{what} divergence epoch {d_epoch} is after the run's epoch {epoch}")
            d_params = dict(zip(names, self._checked_arrays(f"{what} divergence params",
                                                            [d["params"].get(n) for n in names])))
            divergence = Divergence(d_epoch, float(d["loss"]),
                                    MappingProxyType({k: float(v) for k, v in d["grad_norms"].items()}),
                                    _frozen(d_params))

        last = state["last"]
        if last is not None:
            if last["update"] is None:  # files written before every epoch kept its update
                update = [np.full_like(p, np.nan) for p in params]
            else:
                update = self._checked_arrays(f"{what} last update", last["update"])
            kept_grads = [g if g is not None else None for g in grads]
            last = (float(last["train_loss"]), None if last["val_loss"] is None else float(last["val_loss"]),
                    kept_grads, update)
        mark = state["history_mark"]
        if isinstance(mark, Mapping):
            open_bucket = mark["open"]
            mark = (history.mark()[0], mark["buckets"], mark["width"],
                    None if open_bucket is None else tuple(open_bucket), mark["epochs"])
        mark = history.check_mark(mark, f"{what} history_mark")
        if mark[4] != epoch:
            raise ValueError(f"{what} history_mark covers {mark[4]} epochs, but the frame is epoch {epoch}")
        steps = state.get("steps", epoch)
        steps = self._checked_epoch(f"{what} steps", steps)
        if not epoch <= steps <= epoch * max(1, len(self.split.train)):
            raise ValueError(f"{what} steps {steps} is not a step count of {epoch} epochs on "
                             f"{len(self.split.train)} training points")
        if best_val.steps is not None and not best_val.epoch <= best_val.steps <= steps:
            raise ValueError(f"{what} best_val steps {best_val.steps} is not a step count up to epoch {best_val.epoch}")
        for index, entry in enumerate(optimizer_state):
            for key, value in (entry or {}).items():
                if isinstance(value, int) and value > steps:  # a step count (Adam's): one per optimizer step
                    raise ValueError(f"{what} optimizer state {names[index]}.{key} is {value}, "
                                     f"more than the run's {steps} steps")
        saved_rng = state.get("batch_rng")
        if saved_rng is None:  # saved before mini-batches: the generator was never drawn from
            rng = np.random.default_rng(self.setup.batch_seed).bit_generator.state
        else:
            rng = _rng_state(saved_rng, f"{what} batch_rng")
        batch_mark = state.get("batch_history_mark")
        if batch_mark is None:
            batch_mark = batch_history.mark()
        elif isinstance(batch_mark, Mapping):
            open_bucket = batch_mark["open"]
            batch_mark = (batch_history.mark()[0], batch_mark["buckets"], batch_mark["width"],
                          None if open_bucket is None else tuple(open_bucket), batch_mark["epochs"])
        batch_mark = batch_history.check_mark(batch_mark, f"{what} batch_history_mark")
        if batch_mark[4] > steps:
            raise ValueError(f"{what} batch_history_mark covers {batch_mark[4]} steps, more than the frame's {steps}")
        return _Frame(epoch=epoch, state=run_state, stopped_early=bool(state["stopped_early"]), hyper=hyper,
                      params=params, grads=grads, optimizer_state=optimizer_state, last=last,
                      best_val=best_val,
                      first_loss=None if state["first_loss"] is None else float(state["first_loss"]),
                      divergence=divergence, history_mark=mark, steps=steps, batch_rng=rng, batch_mark=batch_mark)

    def _checked_optimizer_state(self, what: str, saved: Mapping, hyper: Hyperparameters) -> list:
        """Per parameter, the optimizer state `saved` holds for it (or None), each value
        checked against what this optimizer keeps (names, kinds, shapes) and cast."""
        names = [name for name, _ in self._named]
        expected = self._optimizer_state_probe(hyper)
        out: list = [None] * len(self._params)
        for index, entry in saved.items():
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._params):
                raise ValueError(f"{what} for parameter {index!r}: there are {len(self._params)} parameters")
            shape, dtype = self._params[index].data.shape, self._params[index].data.dtype
            entry = dict(entry)
            for key, model_value in expected.get(index, {}).items():
                value = entry.get(key)
                if isinstance(model_value, np.ndarray) and not isinstance(value, np.ndarray):
                    raise ValueError(f"{what} {names[index]}.{key} should be an array")
                if isinstance(model_value, (int, np.integer)) and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError(f"{what} {names[index]}.{key} should be a whole number")
            for key, value in entry.items():
                if isinstance(value, np.ndarray):
                    if value.shape != shape:
                        raise ValueError(f"{what} {names[index]}.{key} has shape {value.shape}, not {shape}")
                    entry[key] = value.astype(dtype)
                elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{what} {names[index]}.{key} should be an array or a whole number >= 0")
            out[index] = entry
        return out

    def take_over(self, other: "Trainer") -> None:
        """Become `other` (typically a loaded session), all at once: whoever holds this
        Trainer (a BackgroundTrainer, the app) now sees the other run. `other` must not be
        used afterwards, since the two share their model and optimizer. Pause first:
        `runner.pause(); runner.call(lambda t: t.take_over(loaded))`."""
        if not isinstance(other, Trainer):
            raise TypeError(f"take_over needs a Trainer, not {type(other).__name__}")
        self.__dict__.update(other.__dict__)

    def _optimizer_state_probe(self, hyper: Hyperparameters) -> dict:
        """What the optimizer keeps per parameter (names and kinds of values), learnt by
        letting a twin of it take one zero-gradient step on copies of the parameters: the
        optimizer's own code says what a saved state must hold."""
        twins = []
        for p in self._params:
            twin = Tensor(p.data.copy(), requires_grad=True)
            twin.grad = Tensor(np.zeros_like(p.data))
            twins.append(twin)
        probe = self._make_optimizer(params=twins, hyper=hyper)
        with no_grad():
            probe.step()
        return probe.state_dict()["state"]

    @classmethod
    def from_state(cls, setup: Setup, hyper: Hyperparameters, state: Mapping, dataset=None) -> "Trainer":
        """A Trainer that continues exactly where the one `state` came from stopped."""
        trainer = cls(setup, hyper, dataset=dataset, history_capacity=state["history"]["capacity"])
        trainer.load_state_dict(state)
        return trainer

    def _checked_arrays(self, what: str, arrays, allow_none: bool = False) -> list:
        """One array per parameter, each of that parameter's shape, cast to its dtype."""
        arrays = list(arrays)
        if len(arrays) != len(self._params):
            raise ValueError(f"{what}: {len(arrays)} arrays for {len(self._params)} parameters")
        out = []
        for (name, p), a in zip(self._named, arrays):
            if a is None and allow_none:
                out.append(None)
                continue
            a = np.asarray(a) if a is not None else None
            if a is None or a.shape != p.data.shape:
                raise ValueError(f"{what} {name}: shape {None if a is None else a.shape}, the model's is {p.data.shape}")
            out.append(a.astype(p.data.dtype))  # astype copies: the trainer owns its arrays
        return out

    def _checked_best(self, best: Mapping, epoch: int) -> BestValidation:
        """The best-validation record of a state_dict (`train_loss` and `grads` may be
        missing: files saved before they were kept)."""
        if best["epoch"] is None:
            return BestValidation()
        best_epoch = self._checked_epoch("best_val epoch", best["epoch"])
        if not 1 <= best_epoch <= epoch:
            raise ValueError(f"best_val epoch {best_epoch} is not an epoch of this run (1..{epoch})")
        params = None if best["params"] is None else self._checked_arrays("best_val params", best["params"])
        grads = best.get("grads")
        grads = None if grads is None else self._checked_arrays("best_val grads", grads, allow_none=True)
        train_loss = best.get("train_loss")
        steps = best.get("steps")
        steps = None if steps is None else self._checked_epoch("best_val steps", steps)
        return BestValidation(best_epoch, float(best["loss"]), None if train_loss is None else float(train_loss),
                              None if params is None else _read_only(params), None if grads is None else _read_only(grads),
                              steps)

    @staticmethod
    def _checked_epoch(what: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{what} must be a whole number >= 0 (got {value!r})")
        return int(value)

    # ------------------------------------------------------------------ reading
    @property
    def dtype(self) -> np.dtype:
        """The dtype the model computes in (the setup's, float32 unless it says float64)."""
        return self._dtype

    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the training points as the model sees them: input transformed, in the
        run's dtype. Read-only copies: the run's own tensors cannot be changed through them."""
        return _read_only((self._x_train.data, self._y_train.data))

    @property
    def last_epoch(self) -> EpochLosses | None:
        """The latest epoch trained and its losses (None before the first epoch and after a
        rewind). After early stopping, the epoch where it stopped, not the one restored."""
        if self._last is None:
            return None
        if self.stopped_early:  # _last describes the restored epoch; the history has the last one trained
            cols = self.history.columns()
            val = float(cols["val"][-1])
            return EpochLosses(self.epoch, float(cols["train"][-1]), None if math.isnan(val) else val)
        return EpochLosses(self.epoch, self._last[0], self._last[1])

    def current_loss(self) -> tuple[float, float | None]:
        """Loss at the current parameters, without training (epoch 0's starting loss)."""
        with no_grad():
            train = float(ops.mse_loss(self.model(self._x_train), self._y_train).data)
            val = None
            if self._x_val is not None:
                val = float(ops.mse_loss(self.model(self._x_val), self._y_val).data)
        return train, val

    def predict(self, x_raw: np.ndarray) -> np.ndarray:
        with no_grad(), np.errstate(all="ignore"):
            x = Tensor(self.transform.apply(np.asarray(x_raw, dtype=np.float64)).astype(self._dtype))
            return np.asarray(self.model(x).data, dtype=np.float64)

    def epochs_per_second(self) -> float:
        now = time.perf_counter()
        t0, e0, rate = self._rate
        if now - t0 >= 0.5:
            rate = (self.epoch - e0) / (now - t0)
            self._rate = (now, self.epoch, rate)
        return rate

    def snapshot(self, history_points: int = 512, fit_points: int = 64, speed_limit: float | None = None) -> Snapshot:
        """A frozen copy of the run's current state (`speed_limit`: the runner's, shown with it)."""
        names = [n for n, _ in self._named]
        params = {n: p.data.copy() for n, p in self._named}
        if self._last is None:
            train_loss, val_loss = self.current_loss()
            grads = {n: np.zeros_like(p.data) for n, p in self._named}
            update = {n: np.zeros_like(p.data) for n, p in self._named}
        else:
            train_loss, val_loss, g, u = self._last
            grads = {n: (np.zeros_like(p.data) if gi is None else gi.copy()) for n, gi, p in zip(names, g, self._params)}
            update = {n: ui.copy() for n, ui in zip(names, u)}
        x = self.dataset.x
        lo, hi = float(np.min(x)), float(np.max(x))
        pad = 0.05 * (hi - lo)
        fit_x = np.linspace(lo - pad, hi + pad, fit_points)
        fit_y = self.predict(fit_x)
        raw_line = None
        if isinstance(self.model, Line):
            raw_line = self.transform.line_in_raw_units(float(params["w"]), float(params["b"]))
        best = self._best_val
        epoch, stopped_at, steps = self.epoch, None, self.steps
        if self.stopped_early and best.epoch is not None:  # the restored epoch; where it stopped apart
            epoch, stopped_at = best.epoch, self.epoch
            steps = best.steps if best.steps is not None else best.epoch
        return Snapshot(
            epoch=epoch,
            train_loss=train_loss,
            val_loss=val_loss,
            params=_frozen(params),
            grads=_frozen(grads),
            update=_frozen(update),
            state=self.state,
            setup=self.setup,
            hyper=self.hyper,
            transform=self.transform,
            history=self.history.view(history_points),
            fit_x=fit_x,
            fit_y=fit_y,
            divergence=self.divergence,
            warning=self._warning(),
            best_val_epoch=best.epoch,
            best_val_loss=None if best.epoch is None else best.val_loss,
            overfitting_since=self.overfitting_since,
            stopped_early=self.stopped_early,
            stopped_at=stopped_at,
            raw_line=raw_line,
            epochs_per_second=self.epochs_per_second(),
            step_count=steps,
            speed_limit=speed_limit,
            dataset=self.dataset,
            split=self.split,
            batch_history=self.batch_history.view(history_points),
            steps_per_epoch=self.steps_per_epoch(),
        )

    def _warning(self) -> str | None:
        """Say the loss is exploding before it overflows: growing epoch after epoch, and
        already far above where it started."""
        if self.divergence is not None or self._first_loss is None or self.epoch < 3:
            return None
        cols = self.history.columns()
        recent = cols["train"][-3:]
        if recent.size == 3 and np.all(np.diff(recent) > 0) and recent[-1] > 100 * max(self._first_loss, 1e-12):
            return f"the loss is exploding: {recent[-1] / self._first_loss:.3g}x its starting value and growing every epoch"
        return None
