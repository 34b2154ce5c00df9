"""The settings a user can change from the keyboard: what each one is called, how a typed
value is read, and which way each key cycles it.

Two kinds of change, as in the engine: a hyperparameter steers the run and it continues; a
setup change (model, input, split) defines a new run, so it starts over. The speed limit is
the runner's, not the trainer's. `parse` turns typed text into a `Change`, or raises
`SettingError` with a message that names the setting and what it accepts.
"""
from __future__ import annotations

from types import SimpleNamespace

import math
from dataclasses import dataclass, field, replace
from typing import Callable

from engine.lesson import stability
from engine.training.trainer import (MAX_EPOCH_BUDGET, MAX_LEARNING_RATE, MAX_STEPS_PER_EPOCH, MIN_LEARNING_RATE,
                                     SettingError, Setup, Snapshot)

from . import format as fmt

# What the keys step through. Speeds are epochs per second; None trains as fast as it can.
SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, None)
DEFAULT_SPEED = 200.0  # fast enough to see 5,000 epochs in half a minute, slow enough to follow
MODELS = ("linear", "poly:3", "mlp:8", "mlp:24")
VAL_FRACTIONS = (0.0, 0.2, 0.3, 0.5)
EPOCH_BUDGETS = (100, 1000, 5000, 20000, 100000)
# What `u` steps through after full batch: those smaller than the training set (on the 11
# thermometer points, 1 and 4) whose epoch stays within the trainer's step limit.
BATCH_SIZES = (1, 4, 16, 64, 256)
MANY_EPOCHS = 100  # what `N` trains
SMALLER_RATE = 100.0  # the divergence fix divides the rate by this: the book goes from 1e-2 to 1e-4
ADAM_RATE = 0.1  # the chapter's Adam rate, which copes with raw readings
RANDOM_SPLIT = {"train_indices": None, "val_indices": None}  # a fraction or a seed replaces a chosen split


@dataclass(frozen=True)
class Change:
    """What a key or a typed value asks for: hyperparameters, a new setup, or a speed."""

    hyper: dict = field(default_factory=dict)
    setup: dict = field(default_factory=dict)
    speed: tuple[float | None] | None = None  # (epochs per second,) when the speed changes
    note: str = ""  # what to tell the user when it is applied (a key that stopped at a limit)

    @property
    def restarts(self) -> bool:
        return bool(self.setup)


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    keys: str  # the keys that change it, as the panel shows them
    hint: str  # what may be typed, shown in the dialog
    parse: Callable[[str], Change]
    show: Callable[[Snapshot, float | None], str]  # the current value, short
    typed: Callable[[Snapshot, float | None], str]  # the current value as one would type it
    restarts: bool = False
    in_panel: bool = True  # False: only typed, from the command palette


# ---------------------------------------------------------------------- reading typed text
def _number(label: str, text: str) -> float:
    try:
        value = float(text.strip().replace("_", ""))
    except ValueError:
        raise SettingError(f"{label}: '{text.strip()}' is not a number") from None
    if not math.isfinite(value):
        raise SettingError(f"{label}: '{text.strip()}' is not a finite number")
    return value


def _whole(label: str, text: str, allowed: str = "") -> int:
    """A whole number, written as one would: 5000, 5,000, 5_000 or 5e3 (1e9 is whole too).
    `allowed` (e.g. '1..10,000,000') is named when a number is too big to be read at all."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        value = float(cleaned)
    except ValueError:
        raise SettingError(f"{label}: '{text.strip()}' is not a whole number") from None
    if math.isinf(value):
        raise SettingError(f"{label}: {text.strip()} is out of range{f' {allowed}' if allowed else ''}")
    if math.isnan(value) or value != int(value):
        raise SettingError(f"{label}: '{text.strip()}' is not a whole number")
    return int(value)


def _words(label: str, text: str, allowed: dict[str, object]):
    word = text.strip().lower()
    if word in allowed:
        return allowed[word]
    raise SettingError(f"{label}: '{text.strip()}' is not one of {', '.join(sorted(set(map(str, allowed))))}")


def parse_learning_rate(text: str) -> Change:
    return Change(hyper={"learning_rate": _number("learning rate", text)})


def parse_optimizer(text: str) -> Change:
    """'sgd', 'sgd 0.9' (momentum), 'nesterov 0.9', 'adam' or 'adam 0.9 0.999' (betas)."""
    words = text.replace(",", " ").split()
    if not words:
        raise SettingError("optimizer: type sgd, sgd 0.9 (with momentum), nesterov 0.9, adam, or adam 0.9 0.999")
    kind = _words("optimizer", words[0], {"sgd": "sgd", "momentum": "sgd", "nesterov": "nesterov", "adam": "adam"})
    numbers = [_number("optimizer", w) for w in words[1:]]
    if kind == "adam":
        if len(numbers) not in (0, 2):
            raise SettingError(f"optimizer: Adam takes two betas, e.g. 'adam 0.9 0.999' (got '{text.strip()}')")
        betas = {"beta1": numbers[0], "beta2": numbers[1]} if numbers else {}
        return Change(hyper={**optimizer_changes("adam"), **betas})
    if len(numbers) > 1:
        raise SettingError(f"optimizer: SGD takes one momentum, e.g. 'sgd 0.9' (got '{text.strip()}')")
    momentum = numbers[0] if numbers else (0.9 if kind == "nesterov" else 0.0)
    return Change(hyper=optimizer_changes("sgd", momentum=momentum, nesterov=kind == "nesterov"))


def parse_momentum(text: str) -> Change:
    return Change(hyper={"momentum": _number("momentum", text), "nesterov": False})


def parse_betas(text: str) -> Change:
    parts = [p for p in text.replace(",", " ").split() if p]
    if len(parts) != 2:
        raise SettingError(f"Adam betas: type two numbers in [0, 1), e.g. '0.9, 0.999' (got '{text.strip()}')")
    return Change(hyper={"beta1": _number("beta1", parts[0]), "beta2": _number("beta2", parts[1])})


def parse_model(text: str) -> Change:
    return Change(setup={"model": text.strip().lower()})


def parse_input(text: str) -> Change:
    word = text.strip().lower()
    if word in ("raw", "none"):
        return Change(setup={"input_transform": "none"})
    if word in ("standardize", "standardise", "std"):
        return Change(setup={"input_transform": "standardize"})
    try:
        scale = float(word)
    except ValueError:
        raise SettingError(
            f"input: '{text.strip()}' is not 'raw', 'standardize' or a positive scale factor like 0.1"
        ) from None
    return Change(setup={"input_transform": "scale", "input_scale": scale})


def parse_val_fraction(text: str) -> Change:
    value = _number("validation fraction", text.strip().rstrip("%"))
    if text.strip().endswith("%"):
        value /= 100
    return Change(setup={"val_fraction": value, **RANDOM_SPLIT})


def parse_split_seed(text: str) -> Change:
    return Change(setup={"split_seed": _whole("split seed", text), **RANDOM_SPLIT})


def parse_batch_size(text: str) -> Change:
    """A whole number of points, or 'full' (every point, one step an epoch)."""
    if text.strip().lower() in ("full", "all", "none"):
        return Change(hyper={"batch_size": None})
    return Change(hyper={"batch_size": _whole("batch size", text)})


def parse_epochs(text: str) -> Change:
    allowed = f"1..{MAX_EPOCH_BUDGET:,}"
    epochs = _whole("epoch budget", text, allowed)
    if not 1 <= epochs <= MAX_EPOCH_BUDGET:
        raise SettingError(f"epoch budget: {text.strip()} is out of range {allowed}")
    return Change(hyper={"epochs": epochs})


def parse_speed(text: str) -> Change:
    word = text.strip().lower().removesuffix("/s")
    if word in ("max", "full", "0", "none"):
        return Change(speed=(None,))
    value = _number("speed", word)
    if value <= 0:
        raise SettingError(f"speed must be a positive number of epochs per second, or 'max' (got {value:g})")
    return Change(speed=(value,))


def parse_early_stopping(text: str) -> Change:
    on = _words("early stopping", text, {"on": True, "off": False, "yes": True, "no": False,
                                         "true": True, "false": False, "1": True, "0": False})
    return Change(hyper={"early_stopping": on})


# ---------------------------------------------------------------------- showing values
def describe_optimizer(s: Snapshot) -> str:
    h = s.hyper
    if h.optimizer == "adam":
        return f"Adam {h.beta1:g}/{h.beta2:g}"  # its betas
    if h.momentum:
        return f"SGD {'nesterov' if h.nesterov else 'mom.'} {h.momentum:g}"
    return "SGD"


def describe_hyper_change(before, after) -> str:
    """What a steering change did, for the message line: 'learning rate 0.01 → 0.1',
    'optimizer SGD → Adam 0.9/0.999', ...; empty if nothing changed."""
    told = []
    was, now = SimpleNamespace(hyper=before), SimpleNamespace(hyper=after)
    if describe_optimizer(was) != describe_optimizer(now):
        told.append(f"optimizer {describe_optimizer(was)} → {describe_optimizer(now)}")
    shown = {"learning_rate": ("learning rate", "{:g}"), "epochs": ("epoch budget", "{:,}"),
             "early_stopping": ("early stopping", None), "weight_decay": ("weight decay", "{:g}"),
             "overfit_patience": ("patience", "{:,}"), "zero_grad": ("zero_grad", None),
             "batch_size": ("batch size", "{}")}
    optimizer_fields = {"optimizer", "momentum", "nesterov", "beta1", "beta2"}
    for name in type(before).__dataclass_fields__:
        old, new = getattr(before, name), getattr(after, name)
        if old == new or name in optimizer_fields:
            continue
        label, form = shown.get(name, (name.replace("_", " "), "{}"))
        if form is None:
            told.append(f"{label} {'on' if new else 'off'}")
        elif name == "batch_size":
            told.append(f"{label} {old or 'full'} → {new or 'full'}")
        else:
            told.append(f"{label} {form.format(old)} → {form.format(new)}")
    return "; ".join(told)


def typed_optimizer(s: Snapshot) -> str:
    h = s.hyper
    if h.optimizer == "adam":
        return f"adam {h.beta1:g} {h.beta2:g}"
    if h.momentum:
        return f"{'nesterov' if h.nesterov else 'sgd'} {h.momentum:g}"
    return "sgd"


def describe_input(s: Snapshot) -> str:
    kind = s.setup.input_transform
    if kind == "scale":
        return f"{s.setup.input_scale:g} × raw"
    if kind == "standardize":
        return "standardised"
    return "raw"


def describe_batch(s: Snapshot) -> str:
    if s.hyper.batch_size is None:
        return "full"
    return f"{s.hyper.batch_size} · {s.steps_per_epoch} step{'s' if s.steps_per_epoch != 1 else ''}"


def describe_val(s: Snapshot) -> str:
    if s.setup.train_indices is not None:
        return f"{len(s.setup.val_indices)} chosen pts"
    return "none" if s.setup.val_fraction == 0 else f"{s.setup.val_fraction:.0%}"


SETTINGS: tuple[Setting, ...] = (
    Setting("model", "model", "m", "linear, poly:K (K = 1..12) or mlp:H (H = 1..512)", parse_model,
            lambda s, _: s.setup.model, lambda s, _: s.setup.model, restarts=True),
    Setting("optimizer", "optimizer", "o", "sgd, sgd 0.9 (momentum), nesterov 0.9, adam, or adam 0.9 0.999 (betas)",
            parse_optimizer, lambda s, _: describe_optimizer(s), lambda s, _: typed_optimizer(s)),
    Setting("momentum", "momentum", "", "a number in [0, 1), e.g. 0.9 (SGD only)", parse_momentum,
            lambda s, _: f"{s.hyper.momentum:g}", lambda s, _: f"{s.hyper.momentum:g}", in_panel=False),
    Setting("betas", "Adam betas", "", "two numbers in [0, 1), e.g. 0.9, 0.999", parse_betas,
            lambda s, _: f"{s.hyper.beta1:g}, {s.hyper.beta2:g}", lambda s, _: f"{s.hyper.beta1:g}, {s.hyper.beta2:g}",
            in_panel=False),
    Setting("learning_rate", "learning rate", "+ -", f"a number from {MIN_LEARNING_RATE:g} to {MAX_LEARNING_RATE:g}, e.g. 0.01 or 1e-4",
            parse_learning_rate, lambda s, _: fmt.rate(s.hyper.learning_rate), lambda s, _: fmt.rate(s.hyper.learning_rate)),
    Setting("batch_size", "batch size", "u", "a whole number of points (each epoch: shuffle, one step per batch), "
            "or full", parse_batch_size, lambda s, _: describe_batch(s),
            lambda s, _: "full" if s.hyper.batch_size is None else str(s.hyper.batch_size)),
    Setting("input", "input", "z", "raw, standardize, or a scale factor such as 0.1", parse_input,
            lambda s, _: describe_input(s),
            lambda s, _: {"none": "raw", "standardize": "standardize"}.get(s.setup.input_transform, f"{s.setup.input_scale:g}"),
            restarts=True),
    Setting("val_fraction", "validation", "v", "a fraction in [0, 1), e.g. 0.2 (0: no split)", parse_val_fraction,
            lambda s, _: describe_val(s), lambda s, _: f"{s.setup.val_fraction:g}", restarts=True),
    Setting("split_seed", "split seed", "s", "a whole number", parse_split_seed,
            lambda s, _: str(s.setup.split_seed), lambda s, _: str(s.setup.split_seed), restarts=True),
    Setting("epochs", "epoch budget", "b", f"a whole number from 1 to {MAX_EPOCH_BUDGET:,}", parse_epochs,
            lambda s, _: fmt.count(s.hyper.epochs), lambda s, _: str(s.hyper.epochs)),
    Setting("speed", "speed", "[ ]", "epochs per second (a positive number) or max", parse_speed,
            lambda _, v: fmt.speed(v), lambda _, v: "max" if v is None else f"{v:g}"),
    Setting("early_stopping", "early stop", "E", "on or off", parse_early_stopping,
            lambda s, _: "on" if s.hyper.early_stopping else "off", lambda s, _: "on" if s.hyper.early_stopping else "off"),
)
BY_NAME = {s.name: s for s in SETTINGS}


def visible_settings(snapshot: Snapshot) -> list[Setting]:
    """The settings the panel lists (momentum and betas are part of the optimizer's row)."""
    return [s for s in SETTINGS if s.in_panel]


# ---------------------------------------------------------------------- key cycles
def _next(options: tuple, current, step: int = 1):
    options = list(options)
    if current in options:
        return options[(options.index(current) + step) % len(options)]
    return options[0]


def optimizer_changes(kind: str, momentum: float = 0.0, nesterov: bool = False) -> dict:
    return {"optimizer": kind, "momentum": momentum if kind == "sgd" else 0.0, "nesterov": nesterov}


def next_optimizer(s: Snapshot) -> Change:
    """Plain SGD -> SGD with momentum 0.9 -> Adam -> plain SGD (the run continues)."""
    h = s.hyper
    if h.optimizer == "adam":
        return Change(hyper=optimizer_changes("sgd"))
    if h.momentum == 0:
        return Change(hyper=optimizer_changes("sgd", momentum=0.9))
    return Change(hyper=optimizer_changes("adam"))


def next_model(s: Snapshot) -> Change:
    return Change(setup={"model": _next(MODELS, s.setup.model)})


def next_input(s: Snapshot) -> Change:
    """0.1 x raw (the book's normalisation) -> raw -> standardised -> 0.1 x raw: from the
    app's default, one key shows what the raw readings do to the same learning rate."""
    kind = s.setup.input_transform
    if kind == "scale":
        return Change(setup={"input_transform": "none"})
    if kind == "none":
        return Change(setup={"input_transform": "standardize"})
    return Change(setup={"input_transform": "scale", "input_scale": 0.1})


def next_val_fraction(s: Snapshot) -> Change:
    current = 0.0 if s.setup.train_indices is not None else s.setup.val_fraction
    return Change(setup={"val_fraction": _next(VAL_FRACTIONS, current), **RANDOM_SPLIT})


def reseed_split(s: Snapshot) -> Change:
    return Change(setup={"split_seed": s.setup.split_seed + 1, **RANDOM_SPLIT})


def batch_sizes(n_train: int) -> list[int]:
    """The batch sizes `u` offers for `n_train` training points."""
    return [size for size in BATCH_SIZES if size < n_train and -(-n_train // size) <= MAX_STEPS_PER_EPOCH]


def next_batch_size(current: int | None, n_train: int) -> Change:
    """Full batch -> 1 -> 4 -> 16 -> ... -> full (the run continues, with the next epoch)."""
    options = [None, *batch_sizes(n_train)]
    if current is not None and current not in options:  # a typed size: on to the next bigger one
        bigger = [size for size in options[1:] if size > current]
        return Change(hyper={"batch_size": bigger[0] if bigger else None})
    return Change(hyper={"batch_size": _next(tuple(options), current)})


def next_budget(s: Snapshot) -> Change:
    bigger = [b for b in EPOCH_BUDGETS if b > s.hyper.epochs]
    return Change(hyper={"epochs": bigger[0] if bigger else EPOCH_BUDGETS[0]})


def scaled_rate(s: Snapshot, factor: float) -> Change:
    """The rate times `factor` (+ - * /), stopping at the engine's limits and saying so."""
    rate = s.hyper.learning_rate
    # Round to 3 significant digits so x2 then /2 lands back exactly where it started.
    wanted = float(f"{rate * factor:.3g}")
    for limit, beyond, word in ((MAX_LEARNING_RATE, wanted > MAX_LEARNING_RATE, "highest"),
                                (MIN_LEARNING_RATE, wanted < MIN_LEARNING_RATE, "lowest")):
        if not beyond:
            continue
        if rate == limit:
            return Change(note=f"learning rate {fmt.rate(limit)} is already the {word} allowed.")
        return Change(hyper={"learning_rate": limit},
                      note=f"learning rate {fmt.rate(limit)}, the {word} allowed (×{fmt.rate(factor)} "
                           f"would be {fmt.rate(wanted)}).")
    return Change(hyper={"learning_rate": wanted})


def step_speed(current: float | None, step: int) -> Change:
    options = list(SPEEDS)
    if current not in options:  # a typed speed: move to the nearest listed one in that direction
        finite = [v for v in options if v is not None]
        below = [v for v in finite if v < current]
        above = [v for v in finite if v > current]
        return Change(speed=((above[0] if above else None) if step > 0 else (below[-1] if below else finite[0]),))
    index = min(max(options.index(current) + step, 0), len(options) - 1)
    return Change(speed=(options[index],))


# ---------------------------------------------------------------------- after a divergence
# When one parameter's gradient is at least this many times another's, the loss is a long
# narrow valley (the raw readings' w against b: 57×) and "a step that suits b overshoots in
# w" is the cause worth naming. Within an order of magnitude both directions overshoot at
# the rate used, and the plain cause is a rate too large for the loss's curvature.
LOPSIDED_GRADIENTS = 10.0


def lopsided_gradients(s: Snapshot) -> tuple[str, str, float] | None:
    """(largest, smallest, ratio) of the diverged step's gradient sizes, when lopsided enough
    to be the explanation."""
    ratio = s.divergence.grad_ratio() if s.divergence is not None else None
    return ratio if ratio is not None and ratio[2] >= LOPSIDED_GRADIENTS else None


def edge_of_stability(s: Snapshot) -> float | None:
    """2 / λ_max for plain gradient descent (no momentum) on the run's line or polynomial:
    the rate above which every step overshoots more (None: another optimizer, an MLP)."""
    h = s.hyper
    if h.optimizer != "sgd" or h.momentum or s.dataset is None or s.split is None:
        return None
    return stability.edge_of_stability(s.setup, s.dataset.x, s.split, h.weight_decay)


AT_THE_EDGE = 0.01  # within 1% of 2 / λ_max the stiffest direction shrinks by less than 2% a step


def edge_warning(s: Snapshot) -> str | None:
    """What to say when plain gradient descent's rate sits at the edge of stability of the
    run's line or polynomial (`s` is a snapshot or the trainer itself). There the loss
    neither falls nor blows up (lr 1 on the standardised line sits at loss 171 for good), so
    nothing else on screen would ever tell. Above the edge the run diverges and the Diverged
    panel explains; saying it beforehand would spoil the lesson's surprise."""
    edge = edge_of_stability(s)
    if edge is None or not math.isfinite(edge):
        return None
    lr = s.hyper.learning_rate
    if edge * (1 - AT_THE_EDGE) <= lr <= edge * (1 + AT_THE_EDGE):
        return (f"lr {fmt.rate(lr)} is at this input's edge of stability, 2/λmax = {edge:.3g}: the loss will "
                f"swing back and forth instead of settling. lr {fmt.rate(stability.round_down(edge / 2))} converges.")
    return None


@dataclass(frozen=True)
class Fix:
    key: str
    label: str
    change: Change


def divergence_fixes(s: Snapshot) -> list[Fix]:
    """What to try after the loss overflowed, each one key away: a smaller rate, a
    normalised input, Adam. Each starts the run over, and each works from the start at the
    rate it sets: for plain gradient descent on the line or a polynomial the largest stable
    rate is worked out from the data (engine/lesson/stability.py), and a fix never sets a
    rate above half of it."""
    h, setup = s.hyper, s.setup
    fixes = []
    smaller = float(f"{h.learning_rate / SMALLER_RATE:.3g}")
    if h.optimizer == "sgd":
        stable = _stable_rate(s, setup)
        smaller = smaller if stable is None else min(smaller, stable)
    if smaller >= MIN_LEARNING_RATE:  # else no rate the engine takes is stable: not offered
        fixes.append(Fix("1", f"lower the rate: lr {fmt.rate(h.learning_rate)} → {fmt.rate(smaller)}",
                         Change(hyper={"learning_rate": smaller})))
    normalised = None
    if setup.input_transform == "none":
        normalised = ("normalise the input: x = 0.1 × raw", {"input_transform": "scale", "input_scale": 0.1})
    elif setup.input_transform == "scale":
        normalised = ("standardise the input", {"input_transform": "standardize"})
    if normalised is not None:
        label, changes = normalised
        hyper = {}
        # The same rate may overshoot on the new input too, or crawl: plain gradient descent
        # gets the rate that suits the new input (the book's 1e-2 for 0.1 × raw).
        stable = _stable_rate(s, replace(setup, **changes)) if h.optimizer == "sgd" else None
        if stable is not None and stable >= MIN_LEARNING_RATE:
            label += f", lr {fmt.rate(stable)}"
            hyper = {"learning_rate": stable}
        fixes.append(Fix("2", label, Change(hyper=hyper, setup=changes)))
    if h.optimizer != "adam":
        fixes.append(Fix("3", f"switch to Adam, lr {fmt.rate(ADAM_RATE)}",
                         Change(hyper={**optimizer_changes("adam"), "learning_rate": ADAM_RATE})))
    else:
        gentler = float(f"{h.learning_rate / 10:.3g}")
        fixes.append(Fix("3", f"Adam with a gentler lr {fmt.rate(gentler)}", Change(hyper={"learning_rate": gentler})))
    return fixes


_STABLE_RATES: dict = {}  # (setup, weight decay) -> (dataset, split, rate): the panel redraws often


def _stable_rate(s: Snapshot, setup: Setup) -> float | None:
    """The rate the fixes set for plain gradient descent on `setup` (None: not known)."""
    if s.dataset is None or s.split is None:
        return None
    key = (setup, s.hyper.weight_decay)
    known = _STABLE_RATES.get(key)
    if known is not None and known[0] is s.dataset and known[1] is s.split:
        return known[2]
    rate = stability.stable_rate(setup, s.dataset.x, s.split, s.hyper.weight_decay, y=s.dataset.y)
    if len(_STABLE_RATES) >= 8:  # a few runs' worth: the fixes of the run on screen
        _STABLE_RATES.pop(next(iter(_STABLE_RATES)))
    _STABLE_RATES[key] = (s.dataset, s.split, rate)
    return rate
