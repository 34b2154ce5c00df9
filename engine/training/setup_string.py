"""A whole configuration in one short line a teacher can write on the board:

    lr=0.01,opt=adam,scale=0.1,model=linear,data=thermometer

`parse_setup_string` turns it into the (Setup, Hyperparameters) pair a Trainer is built
from; `format_setup_string` writes one back (the app shows the current configuration this
way). Keys left out keep the defaults `kepler` and `kepler train` start from
(`DEFAULT_SETUP`, the input 0.1 * raw, and `Hyperparameters()`), so a string means the
same run everywhere. `format` always writes lr, opt, scale, model and data,
and the other keys only when they differ from the default, so that

    parse_setup_string(format_setup_string(setup, hyper)) == (setup, hyper)

(the one thing a string does not carry is an `input_scale` left over while the transform is
`none` or `std`, where it has no effect). A value holding a comma is written in double
quotes: `data="my, file.csv"`.

Keys (an unknown key or a bad value is a one-line SettingError naming the key):

    lr          learning rate, a number
    opt         sgd | adam
    momentum    SGD momentum, in [0, 1)
    nesterov    on | off
    wd          weight decay
    beta1       Adam's first-moment decay
    beta2       Adam's second-moment decay
    scale       the input: a factor (0.1), std (standardise) or none (raw readings)
    model       linear | poly:K | mlp:H
    data        a built-in dataset, or a CSV file (a path ending in .csv, or csv:PATH)
    x           the CSV column to learn from, by name or position from 1
    y           the CSV column to predict
    val         validation fraction, in [0, 1)
    split       an explicit split, TRAIN/VAL point indices: 9:6:5:8:4:7:0:1:3/2:10
    seed        seed of the split, the initial weights and the mini-batch shuffles
    split_seed  the split's own seed (wins over seed)
    init_seed   the initial weights' own seed (wins over seed)
    batch_seed  the mini-batch shuffles' own seed (wins over seed)
    batch       the batch size: a whole number of points, or full (the default: every point, one step)
    epochs      the epoch budget
    early_stop  on | off: stop at, and restore, the best validation epoch
    patience    epochs of rising validation loss before it counts as overfitting
    zero_grad   on | off (off: gradients accumulate, the classic bug)
    dtype       float32 | float64
"""
from __future__ import annotations

import math
import re
from dataclasses import fields, replace

from .trainer import DEFAULT_SETUP, OPTIMIZERS, Hyperparameters, SettingError, Setup, parse_model_or_raise

KEYS = ("lr", "opt", "momentum", "nesterov", "wd", "beta1", "beta2", "scale", "model", "data", "x", "y",
        "val", "split", "seed", "split_seed", "init_seed", "batch_seed", "batch", "epochs", "early_stop", "patience",
        "zero_grad", "dtype")
_PAIR = re.compile(r'(?P<key>[^=,"\s]+)\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<plain>[^,"]*?))\s*(?:,|$)')
_BOOLS = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}

# key -> (object, field) for the keys that are one field each
_HYPER_KEYS = {"lr": "learning_rate", "opt": "optimizer", "momentum": "momentum", "nesterov": "nesterov",
               "wd": "weight_decay", "beta1": "beta1", "beta2": "beta2", "epochs": "epochs",
               "early_stop": "early_stopping", "patience": "overfit_patience", "zero_grad": "zero_grad"}
_SETUP_KEYS = {"model": "model", "data": "dataset", "x": "x_column", "y": "y_column", "val": "val_fraction",
               "dtype": "dtype", "split_seed": "split_seed", "init_seed": "init_seed", "batch_seed": "batch_seed"}
_SEEDS = ("split_seed", "init_seed", "batch_seed")  # what `seed` sets, unless given on their own


def parse_setup_string(text: str) -> tuple[Setup, Hyperparameters]:
    """`key=value,...` -> (Setup, Hyperparameters); SettingError (one line) naming the key."""
    values = _pairs(text)
    setup_changes: dict = {}
    hyper_changes: dict = {}
    for key, raw in values.items():
        if key in _HYPER_KEYS:
            field = _HYPER_KEYS[key]
            kind = _field_type(Hyperparameters, field)
            hyper_changes[field] = _value(key, raw, kind)
            if kind is not bool:  # a switch is only wrong together with others (nesterov needs momentum)
                _check_alone(key, raw, lambda: replace(Hyperparameters(), **{field: hyper_changes[field]}).validate())
        elif key in _SETUP_KEYS:
            field = _SETUP_KEYS[key]
            setup_changes[field] = _setup_value(key, raw, field)
            _check_alone(key, raw, lambda: replace(_setup_for_check(field), **{field: setup_changes[field]}).validate())
        elif key == "scale":
            setup_changes.update(_scale(raw))
            _check_alone(key, raw, lambda: replace(Setup(), **_scale(raw)).validate())
        elif key == "seed":
            seed = _value(key, raw, int)
            # split_seed / init_seed / batch_seed, if given, win (before or after seed in the string)
            for name in _SEEDS:
                setup_changes[name] = _value(name, values[name], int) if name in values else seed
        elif key == "batch":
            hyper_changes["batch_size"] = _batch_size(raw)
            _check_alone(key, raw, lambda: replace(Hyperparameters(), batch_size=hyper_changes["batch_size"]).validate())
        elif key == "split":
            setup_changes["train_indices"], setup_changes["val_indices"] = _split(raw)
    try:
        return replace(DEFAULT_SETUP, **setup_changes).validate(), replace(Hyperparameters(), **hyper_changes).validate()
    except SettingError as exc:
        raise SettingError(f"setup string: {exc}") from None


def format_setup_string(setup: Setup, hyper: Hyperparameters) -> str:
    """The configuration as `key=value,...`; parses back to the same (setup, hyper)."""
    default_setup, default_hyper = DEFAULT_SETUP, Hyperparameters()
    parts = [("lr", _number(hyper.learning_rate)), ("opt", hyper.optimizer)]
    if hyper.momentum != default_hyper.momentum:
        parts.append(("momentum", _number(hyper.momentum)))
    if hyper.nesterov != default_hyper.nesterov:
        parts.append(("nesterov", _switch(hyper.nesterov)))
    if hyper.weight_decay != default_hyper.weight_decay:
        parts.append(("wd", _number(hyper.weight_decay)))
    for key, field in (("beta1", "beta1"), ("beta2", "beta2")):
        if getattr(hyper, field) != getattr(default_hyper, field):
            parts.append((key, _number(getattr(hyper, field))))
    scale = {"none": "none", "standardize": "std"}.get(setup.input_transform) or _number(setup.input_scale)
    parts += [("scale", scale), ("model", setup.model), ("data", setup.dataset)]
    for key, column in (("x", setup.x_column), ("y", setup.y_column)):
        if column is not None:
            parts.append((key, str(column)))
    if setup.val_fraction != default_setup.val_fraction:
        parts.append(("val", _number(setup.val_fraction)))
    if setup.train_indices is not None:
        parts.append(("split", ":".join(map(str, setup.train_indices)) + "/" + ":".join(map(str, setup.val_indices))))
    seeds = [getattr(setup, name) for name in _SEEDS]
    if len(set(seeds)) == 1:
        if seeds[0] != default_setup.split_seed:
            parts.append(("seed", str(seeds[0])))
    else:  # each on its own; a left-out one is 0, as when no seed is given
        parts += [(name, str(seed)) for name, seed in zip(_SEEDS, seeds) if seed != getattr(default_setup, name)]
    if hyper.batch_size != default_hyper.batch_size:
        parts.append(("batch", str(hyper.batch_size)))
    if hyper.epochs != default_hyper.epochs:
        parts.append(("epochs", str(hyper.epochs)))
    if hyper.early_stopping != default_hyper.early_stopping:
        parts.append(("early_stop", _switch(hyper.early_stopping)))
    if hyper.overfit_patience != default_hyper.overfit_patience:
        parts.append(("patience", str(hyper.overfit_patience)))
    if hyper.zero_grad != default_hyper.zero_grad:
        parts.append(("zero_grad", _switch(hyper.zero_grad)))
    if setup.dtype != default_setup.dtype:
        parts.append(("dtype", setup.dtype))
    return ",".join(f"{key}={_quote(key, value)}" for key, value in parts)


# ---------------------------------------------------------------------- reading
def _pairs(text: str) -> dict[str, str]:
    if not isinstance(text, str):
        raise SettingError("setup string: expected text like lr=0.01,opt=adam")
    values: dict[str, str] = {}
    pos = 0
    while True:
        while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
            pos += 1
        if pos >= len(text):
            return values
        m = _PAIR.match(text, pos)
        if m is None:
            chunk = text[pos:].split(",")[0].strip()
            raise SettingError(f"setup string: '{chunk}' is not key=value; keys are {', '.join(KEYS)}")
        key = m.group("key").lower()
        if key not in KEYS:
            raise SettingError(f"setup string: unknown key '{m.group('key')}'; keys are {', '.join(KEYS)}")
        if key in values:
            raise SettingError(f"setup string: {key} is given twice")
        value = m.group("quoted") if m.group("quoted") is not None else m.group("plain")
        values[key] = value
        pos = m.end()


def _field_type(cls, field: str) -> type:
    return type(next(f.default for f in fields(cls) if f.name == field))


def _value(key: str, raw: str, kind: type):
    if kind is bool:
        if raw.lower() not in _BOOLS:
            raise SettingError(f"setup string: {key}='{raw}' is not one of on, off")
        return _BOOLS[raw.lower()]
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingError(f"setup string: {key}='{raw}' is not a whole number") from None
    if kind is float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingError(f"setup string: {key}='{raw}' is not a number") from None
        if not math.isfinite(value):
            raise SettingError(f"setup string: {key}='{raw}' is not a finite number")
        return value
    if key == "opt":
        if raw.lower() not in OPTIMIZERS:
            raise SettingError(f"setup string: opt='{raw}' is not one of {', '.join(OPTIMIZERS)}")
        return raw.lower()
    return raw


def _setup_value(key: str, raw: str, field: str):
    from data import builtin_names, is_file_reference  # data imports numpy only

    if key == "data":
        if not raw.strip():
            raise SettingError("setup string: data is empty; give a built-in dataset or a .csv file")
        if not is_file_reference(raw) and raw not in builtin_names():
            raise SettingError(f"setup string: data='{raw}' is not a built-in dataset ({', '.join(builtin_names())}) "
                               f"or a CSV file (a path ending in .csv, or csv:PATH)")
        return raw
    if key in ("x", "y"):
        if not raw.strip():
            raise SettingError(f"setup string: {key} is empty; give a column name or a position from 1")
        return int(raw) if raw.strip().isdigit() else raw.strip()
    if key == "model":
        try:
            parse_model_or_raise(raw)
        except SettingError as exc:
            raise SettingError(f"setup string: {exc}") from None
        return raw.strip().lower()
    if key == "dtype":
        if raw not in ("float32", "float64"):
            raise SettingError(f"setup string: dtype='{raw}' is not one of float32, float64")
        return raw
    return _value(key, raw, _field_type(Setup, field))


def _setup_for_check(field: str) -> Setup:
    # Columns are only valid with a file; check a column value against a file dataset.
    return Setup(dataset="csv:check") if field in ("x_column", "y_column") else Setup()


def _scale(raw: str) -> dict:
    word = raw.strip().lower()
    if word in ("std", "standardize", "standardise"):
        return {"input_transform": "standardize"}
    if word in ("none", "raw"):
        return {"input_transform": "none"}
    try:
        value = float(word)
    except ValueError:
        raise SettingError(f"setup string: scale='{raw}' is not a number, std or none") from None
    return {"input_transform": "scale", "input_scale": value}


def _batch_size(raw: str) -> int | None:
    word = raw.strip().lower()
    if word in ("full", "all", "none"):
        return None
    try:
        return int(word)
    except ValueError:
        raise SettingError(f"setup string: batch='{raw}' is not a whole number of points or full") from None


def _split(raw: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    try:
        train, val = raw.split("/")
        return tuple(int(i) for i in train.split(":")), tuple(int(i) for i in val.split(":"))
    except ValueError:
        raise SettingError(f"setup string: split='{raw}' is not TRAIN/VAL point indices like 9:6:5/2:10") from None


def _check_alone(key: str, raw: str, check) -> None:
    """Validate one key's value on its own, so a range error names the key it came from."""
    try:
        check()
    except SettingError as exc:
        raise SettingError(f"setup string: {key}={raw}: {exc}") from None


# ---------------------------------------------------------------------- writing
def _number(value: float) -> str:
    text = re.sub(r"e([+-])0+(?=\d)", r"e\1", f"{value:g}")  # 1e-05 -> 1e-5, as written on a board
    return text if float(text) == value else repr(float(value))


def _switch(flag: bool) -> str:
    return "on" if flag else "off"


def _quote(key: str, value: str) -> str:
    if '"' in value:
        raise SettingError(f"setup string: {key} cannot hold a double quote")
    if "," in value or value != value.strip() or not value:
        return f'"{value}"'
    return value
