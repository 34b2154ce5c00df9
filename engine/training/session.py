"""Keep your work: save a run to a file, load it back, export its loss history.

A session file is plain JSON, readable in any editor and never executed (no pickle, no
eval: only `json.loads`, then every field is checked for its type, and the run for ranges,
orderings and sizes the trainer itself would write, before use: `_check_run`):

    {"format": "kepler-session", "version": 2,
     "setup": {...}, "hyperparameters": {...},       # the settings, field by field
     "dataset": {"builtin": "thermometer", ...}      # a built-in, by name and fingerprint,
              | {"name": ..., "x": [...], ...},      # or the points themselves (self-contained)
     "trainer": {...},                               # parameters, gradients, optimizer state,
                                                     # epoch, steps, the shuffling generator,
                                                     # history (and the batch losses), best
                                                     # validation, rewind
     "ghosts": [...]}                                # whatever earlier runs the app keeps

Arrays are `{"dtype": "float32", "shape": [2], "data": [...]}`, and a number that is not
finite (a diverged loss) is the string "inf", "-inf" or "nan", since JSON has no such
numbers. float32 and float64 values survive the trip exactly (Python writes the shortest
text that reads back as the same double), so a loaded run continues bit for bit as the
saved one would have.

Writes are atomic: the text goes to a temporary file in the same folder, is flushed to the
disk, and only then renamed over the target. A process killed mid-save leaves the previous
file as it was (and at worst a stray `.NAME.*.tmp` beside it). Only a regular file is ever
replaced: a device, a FIFO, a socket or a folder at the target is refused (`target_problem`).

Every failure is a `SessionError` with a one-line message naming the file and the problem.
The app calls these between two epochs, e.g. `runner.call(lambda t: save_session(t, path))`.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tempfile
from dataclasses import asdict, fields
from pathlib import Path
from typing import Iterable

import numpy as np

from .trainer import MAX_EPOCH_BUDGET, Hyperparameters, SettingError, Setup, Trainer

FORMAT = "kepler-session"
# 3: mini-batches (steps, the shuffling generator's state, the batch losses);
# 2: rewind frames hold the whole state of their epoch; 1: parameters only
VERSION = 3
_READABLE = (1, 2, 3)
MAX_SESSION_BYTES = 64 * 1024 * 1024
MAX_REWIND_NUMBERS = 500_000  # numbers in the rewind frames a file keeps (~10 MB of JSON)
_CHUNK = 1 << 20
_DTYPES = ("float32", "float64", "int64")
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_MAX_GHOST_DEPTH = 32


class SessionError(ValueError):
    """Saving, loading or exporting failed; the message is one line for the user."""


class _Bad(Exception):
    """A field of the file is wrong: (dotted field name, what is wrong with it)."""


# ====================================================================== saving
def session_to_dict(trainer: Trainer, ghosts: Iterable = (), rewind: bool = True) -> dict:
    """The session as JSON-ready Python values (what `save_session` writes).

    `ghosts`: plain data the app wants back (numbers, strings, bools, None, lists, dicts
    with string keys, numpy arrays). The rewind frames kept are the newest that fit in
    `MAX_REWIND_NUMBERS` numbers (all of them for the chapter's small models; a few dozen
    for the biggest network), so a file stays well under the size a load accepts;
    `rewind=False` keeps only the current one (the loaded run then cannot step back past
    where it was saved)."""
    state = trainer.state_dict()
    frames = state["rewind"]
    per_frame = max(1, sum(_numbers_in(v) for v in frames[-1].values())) if frames else 1
    state["rewind"] = frames[-max(1, MAX_REWIND_NUMBERS // per_frame):] if rewind else frames[-1:]
    try:
        return {
            "format": FORMAT,
            "version": VERSION,
            "setup": {f: _plain(v) for f, v in asdict(trainer.setup).items()},
            "hyperparameters": asdict(trainer.hyper),
            "dataset": _dataset_to_dict(trainer.dataset),
            "trainer": _state_to_dict(state),
            "ghosts": [_ghost_to_json(g, f"ghosts[{i}]") for i, g in enumerate(ghosts)],
        }
    except _Bad as exc:
        field, problem = exc.args
        raise SessionError(f"cannot save {field}: {problem}") from None


def session_json(trainer: Trainer, ghosts: Iterable = (), rewind: bool = True) -> str:
    """The session file's text. Building it is quick and reads the trainer, so call it
    between two epochs (`runner.call`); writing it (`write_atomic`) can happen anywhere."""
    return json.dumps(session_to_dict(trainer, ghosts, rewind), indent=1, allow_nan=False) + "\n"


def save_session(trainer: Trainer, path, ghosts: Iterable = (), rewind: bool = True) -> Path:
    """Write the whole session to `path`, atomically; returns the path written."""
    return write_atomic(path, session_json(trainer, ghosts, rewind))


def _dataset_to_dict(dataset) -> dict:
    from data import builtin_names, is_file_reference, load_builtin

    name = dataset.name
    if not is_file_reference(name) and name in builtin_names():
        shipped = load_builtin(name)
        if np.array_equal(shipped.x, dataset.x) and np.array_equal(shipped.y, dataset.y):
            return {"builtin": name, "points": len(dataset), "sha256": _fingerprint(dataset.x, dataset.y)}
    # A user's file, or a built-in edited in the app: keep the points themselves.
    return {"name": name, "x_label": dataset.x_label, "y_label": dataset.y_label,
            "description": dataset.description, "source": dataset.source,
            "x": [float(v) for v in dataset.x], "y": [float(v) for v in dataset.y]}


def _fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    digest = hashlib.sha256(np.asarray(x, dtype="<f8").tobytes())
    digest.update(np.asarray(y, dtype="<f8").tobytes())
    return digest.hexdigest()


def _numbers_in(value) -> int:
    """How many numbers a frame's field holds (arrays, lists and dicts of them)."""
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, dict):
        return sum(_numbers_in(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_numbers_in(v) for v in value)
    return 1


def _state_to_dict(state: dict) -> dict:
    return {
        **_frame_to_json(state, "trainer"),
        "param_names": list(state["param_names"]),
        "history": _history_to_json(state["history"]),
        "batch_history": _history_to_json(state["batch_history"], whole_epochs=False),
        "rewind": [_rewind_frame_to_json(frame, f"trainer.rewind[{i}]") for i, frame in enumerate(state["rewind"])],
    }


def _history_to_json(history: dict, whole_epochs: bool = True) -> dict:
    return {
        "capacity": history["capacity"],
        "bucket_width": history["bucket_width"],
        "total_epochs": history["total_epochs"],
        "buckets": {k: [_float_to_json(v) for v in column] for k, column in history["buckets"].items()},
        "open": _open_bucket_to_json(history["open"], whole_epochs),
    }


def _open_bucket_to_json(bucket, whole_epochs: bool = True):
    if bucket is None:
        return None
    position = int(bucket[0]) if whole_epochs else float(bucket[0])  # a batch's position is a fraction of an epoch
    return [position, *(_float_to_json(v) for v in bucket[1:-1]), int(bucket[-1])]


def _frame_to_json(frame: dict, path: str) -> dict:
    """One moment of a run (the current one, or a rewind frame): see Trainer.state_dict."""
    best, last, div = frame["best_val"], frame["last"], frame["divergence"]
    return {
        "epoch": frame["epoch"],
        "state": frame["state"],
        "stopped_early": frame["stopped_early"],
        "params": [_array_to_json(a) for a in frame["params"]],
        "grads": [None if g is None else _array_to_json(g) for g in frame["grads"]],
        "optimizer": {
            "kind": frame["optimizer"]["kind"],
            "state": {str(i): {k: _optimizer_value(v, f"{path}.optimizer.state.{i}.{k}") for k, v in entry.items()}
                      for i, entry in frame["optimizer"]["state"].items()},
        },
        "best_val": {"loss": _float_to_json(best["loss"]), "epoch": best["epoch"],
                     "params": None if best["params"] is None else [_array_to_json(a) for a in best["params"]],
                     "train_loss": _float_to_json(best.get("train_loss")),
                     "grads": None if best.get("grads") is None else [
                         None if g is None else _array_to_json(g) for g in best["grads"]],
                     "steps": best.get("steps")},
        "first_loss": _float_to_json(frame["first_loss"]),
        "last": None if last is None else {
            "train_loss": _float_to_json(last["train_loss"]), "val_loss": _float_to_json(last["val_loss"]),
            "update": None if last["update"] is None else [_array_to_json(u) for u in last["update"]]},
        "divergence": None if div is None else {
            "epoch": div["epoch"], "loss": _float_to_json(div["loss"]),
            "grad_norms": {k: _float_to_json(v) for k, v in div["grad_norms"].items()},
            "params": {k: _array_to_json(v) for k, v in div["params"].items()}},
        "steps": frame["steps"],
        "batch_rng": dict(frame["batch_rng"]),  # numpy's PCG64 state: 128-bit whole numbers (JSON has no limit)
    }


# ---------------------------------------------------------------------- rewind frames
# What a frame holds is decided by Trainer.state_dict(); these three functions are the only
# places a session file knows it: writing one, reading one, and checking them all.
def _rewind_frame_to_json(frame: dict, path: str) -> dict:
    mark, batch_mark = frame["history_mark"], frame["batch_history_mark"]
    return {**_frame_to_json(frame, path), "hyper": dict(frame["hyper"]),
            "history_mark": {**mark, "open": _open_bucket_to_json(mark["open"])},
            "batch_history_mark": {**batch_mark, "open": _open_bucket_to_json(batch_mark["open"], whole_epochs=False)}}


def _rewind_frame_from_json(frame, path: str, version: int = VERSION) -> dict:
    marks = ("history_mark", "batch_history_mark") if version >= 3 else ("history_mark",)
    frame = _keys(frame, path, _frame_keys(version) | {"hyper", *marks})
    read = {}
    for name in marks:
        mark = _keys(frame[name], f"{path}.{name}", {"buckets", "width", "open", "epochs"})
        read[name] = {"buckets": _int(mark["buckets"], f"{path}.{name}.buckets"),
                      "width": _int(mark["width"], f"{path}.{name}.width"),
                      "open": _open_bucket(mark["open"], f"{path}.{name}.open", whole_epochs=name == "history_mark"),
                      "epochs": _int(mark["epochs"], f"{path}.{name}.epochs")}
    return {**_frame_from_json(frame, path, version), **read,
            "hyper": _settings(Hyperparameters, frame["hyper"], f"{path}.hyper")}


def _check_rewind_frames(frames: list, epoch: int, path: str) -> None:
    """The frames the trainer keeps: one per epoch, consecutive, the newest the current
    epoch, never more than Trainer.REWIND_DEPTH (the deque's length)."""
    if not frames:
        raise _Bad(path, "is empty; it holds at least the current epoch")
    if len(frames) > Trainer.REWIND_DEPTH:
        raise _Bad(path, f"holds {len(frames)} frames; a run keeps at most {Trainer.REWIND_DEPTH}")
    epochs = [frame["epoch"] for frame in frames]
    for i, (before, after) in enumerate(zip(epochs, epochs[1:])):
        if after != before + 1:
            raise _Bad(f"{path}[{i + 1}].epoch", f"is {after} after {before}; frames are consecutive epochs")
    if epochs[-1] != epoch:
        raise _Bad(f"{path}[{len(frames) - 1}].epoch", f"is {epochs[-1]}, not the run's epoch {epoch}")
    for i, frame in enumerate(frames):
        if frame["history_mark"]["epochs"] != frame["epoch"]:
            raise _Bad(f"{path}[{i}].history_mark.epochs", f"is {frame['history_mark']['epochs']}, "
                                                            f"not the frame's epoch {frame['epoch']}")
        if "steps" in frame and frame["batch_history_mark"]["epochs"] > frame["steps"]:
            raise _Bad(f"{path}[{i}].batch_history_mark.epochs", f"is {frame['batch_history_mark']['epochs']}, "
                                                                  f"more than the frame's {frame['steps']} steps")


def _float_to_json(value):
    if value is None:
        return None
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _array_to_json(a: np.ndarray) -> dict:
    a = np.asarray(a)
    if a.dtype.name not in _DTYPES:
        a = a.astype(np.float64)
    data = a.reshape(-1).tolist()
    if a.dtype.kind == "f":
        data = [_float_to_json(v) for v in data]
    return {"dtype": a.dtype.name, "shape": list(a.shape), "data": data}


def _optimizer_value(value, field: str):
    if isinstance(value, np.ndarray):
        return _array_to_json(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return {"float": _float_to_json(value)}  # tagged: a bare string could be anything
    raise _Bad(field, f"optimizer state of type {type(value).__name__} cannot be saved")


def _ghost_to_json(value, field: str, depth: int = 0):
    if depth > _MAX_GHOST_DEPTH:
        raise _Bad(field, f"nested deeper than {_MAX_GHOST_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return {"__array__": _array_to_json(value)}
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": _float_to_json(value)}
    if isinstance(value, (list, tuple)):
        return [_ghost_to_json(v, f"{field}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if any(not isinstance(k, str) for k in value):
            raise _Bad(field, "dictionary keys must be strings")
        if len(value) == 1 and next(iter(value)) in ("__array__", "__float__"):
            raise _Bad(field, f"the key '{next(iter(value))}' is reserved")
        return {k: _ghost_to_json(v, f"{field}.{k}", depth + 1) for k, v in value.items()}
    raise _Bad(field, f"holds a {type(value).__name__}; ghosts hold numbers, strings, lists, dicts and numpy arrays")


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


# ====================================================================== writing files
def target_problem(path) -> str | None:
    """Why `write_atomic` would refuse `path` (None: it can write there). Only a regular
    file, or a name not taken yet, can be replaced: a device (/dev/null), a FIFO, a socket
    or a folder at that name is refused, never swapped for a file."""
    path = Path(path).expanduser()
    if "\x00" in str(path):
        return "a file name cannot hold a NUL character"
    try:
        info = path.stat()  # follows a link: what the link points to is what gets replaced
    except FileNotFoundError:
        info = None
    except OSError as exc:
        return f"cannot write ({_reason(exc)})"
    if info is not None and stat.S_ISDIR(info.st_mode):
        return "is a folder; give a file name"
    if info is not None and not stat.S_ISREG(info.st_mode):
        return f"is {_file_kind(info.st_mode)}, not a regular file; Kepler only writes files"
    folder = path.resolve().parent if path.is_symlink() else path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is not writable"
    return None


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def write_atomic(path, data: str | bytes) -> Path:
    """Replace `path` with `data` so that a reader (or a crash) sees the old file or the
    new one, never half of one: temporary file in the same folder, flush, fsync, rename.
    Only a regular file (or a new name) is replaced; anything else there (a device, a FIFO,
    a socket, a folder) is refused with SessionError and left as it was."""
    path = Path(path).expanduser()
    where = str(path)
    if "\x00" in where:
        raise SessionError(f"{where!r}: a file name cannot hold a NUL character")
    if path.is_symlink():
        path = path.resolve()  # replace the file the link points to, not the link
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = path.parent
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise SessionError(f"{where}: cannot write ({_reason(exc)})") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise SessionError(f"{where}: is a folder; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise SessionError(f"{where}: is {_file_kind(info.st_mode)}, not a regular file; Kepler only writes files")
    mode = 0o644 if info is None else stat.S_IMODE(info.st_mode)  # a replaced file keeps its permissions
    try:
        # mkstemp creates a new name exclusively (O_EXCL): it never opens or truncates
        # anything already there. The name is cut so that the temporary name stays legal.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise SessionError(f"{where}: cannot write ({_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise SessionError(f"{where}: cannot write ({_reason(exc)})") from None
        raise
    _sync_folder(folder)
    return path


def _write_all(f, data: bytes) -> None:
    # In chunks, so a test can slow this down and kill the process in the middle.
    for start in range(0, len(data), _CHUNK):
        f.write(data[start:start + _CHUNK])


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


# ====================================================================== exporting
def history_csv(trainer: Trainer) -> str:
    """The loss history as CSV text: `epoch,train_loss,val_loss`, one row per history
    bucket (every epoch of a run shorter than the history's capacity; in a longer run each
    row is the last epoch of a span). No validation split: the val_loss cells are empty."""
    cols = trainer.history.columns()
    has_val = trainer.split.val.size > 0
    lines = ["epoch,train_loss,val_loss"]
    for epoch, train, val in zip(cols["epoch"], cols["train"], cols["val"]):
        lines.append(f"{int(epoch)},{_csv_number(train)},{_csv_number(val) if has_val else ''}")
    return "\n".join(lines) + "\n"


def export_history_csv(trainer: Trainer, path) -> Path:
    """Write `history_csv(trainer)` to `path`, atomically."""
    return write_atomic(path, history_csv(trainer))


def _csv_number(value: float) -> str:
    value = float(value)
    return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))


# ====================================================================== loading
def load_session(path) -> tuple[Trainer, list]:
    """Read a session file: (a Trainer that continues exactly where the saved one was,
    the ghosts saved with it). SessionError, one line, for anything wrong with the file."""
    path = Path(path).expanduser()
    where = str(path)
    text = _read_session_text(path, where)
    return session_from_text(text, where)


def session_from_text(text: str, where: str = "session") -> tuple[Trainer, list]:
    if not text.strip():
        raise SessionError(f"{where}: the file is empty; not a Kepler session")
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        # Cut off: the parser ran out of text, or a string ran to the end of the file (a
        # string cannot hold a raw line break, so it would have failed at the first one).
        # Or cut inside a number on its last line ('1.' of '1.5'): a whole file ends with '}'.
        end = text.rstrip()
        cut_in_last_line = not end.endswith("}") and "\n" not in end[exc.pos:]
        if exc.pos >= len(end) or exc.msg.startswith("Unterminated string") or cut_in_last_line:
            raise SessionError(f"{where}: the session file is truncated (its JSON stops at line {exc.lineno}); "
                               f"it may have been cut off while saving") from None
        raise SessionError(f"{where}: the session file is corrupted ({exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno})") from None
    except _Bad as exc:
        raise SessionError(f"{where}: the session file is corrupted ({exc.args[1]})") from None
    except RecursionError:
        raise SessionError(f"{where}: the session file is corrupted (nested too deeply)") from None
    return session_from_dict(doc, where)


def session_from_dict(doc, where: str = "session") -> tuple[Trainer, list]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{where}: not a Kepler session file (no \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise SessionError(f"{where}: saved by a newer Kepler (session version {version}); this Kepler reads "
                           f"version {VERSION}, so update Kepler to open it")
    if not isinstance(version, int) or isinstance(version, bool) or version not in _READABLE:
        raise SessionError(f"{where}: unknown session version {version!r}; this Kepler reads version {VERSION}")
    try:
        _keys(doc, "", {"format", "version", "setup", "hyperparameters", "dataset", "trainer", "ghosts"})
        setup = _settings(Setup, doc["setup"], "setup")
        hyper = _settings(Hyperparameters, doc["hyperparameters"], "hyperparameters")
        dataset = _dataset_from_dict(doc["dataset"], setup)
        state = _state_from_dict(doc["trainer"], version)
        _check_run(state, version)
        ghosts = [_ghost_from_json(g, f"ghosts[{i}]") for i, g in enumerate(_list(doc["ghosts"], "ghosts"))]
    except _Bad as exc:
        field, problem = exc.args
        raise SessionError(f"{where}: field '{field}' {problem}") from None
    try:
        setup.validate()
        hyper.validate()
    except SettingError as exc:
        raise SessionError(f"{where}: a saved setting is out of range: {exc}") from None
    try:
        trainer = Trainer.from_state(setup, hyper, state, dataset=dataset)
    except SettingError as exc:
        raise SessionError(f"{where}: {exc}") from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # load_state_dict's consistency checks
        raise SessionError(f"{where}: the saved run is inconsistent: {exc}") from None
    return trainer, ghosts


def _read_session_text(path: Path, where: str) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SessionError(f"{where}: no such file") from None
    except (OSError, ValueError) as exc:
        raise SessionError(f"{where}: cannot read ({_reason(exc)})") from None
    if stat.S_ISDIR(info.st_mode):
        raise SessionError(f"{where}: is a folder, not a session file")
    if not stat.S_ISREG(info.st_mode):
        raise SessionError(f"{where}: is not a regular file")
    if info.st_size > MAX_SESSION_BYTES:
        raise SessionError(f"{where}: {info.st_size / 2**20:.0f} MB is over the {MAX_SESSION_BYTES // 2**20} MB "
                           f"limit for a session file")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SESSION_BYTES + 1)
    except OSError as exc:
        raise SessionError(f"{where}: cannot read ({_reason(exc)})") from None
    if len(raw) > MAX_SESSION_BYTES:
        raise SessionError(f"{where}: over the {MAX_SESSION_BYTES // 2**20} MB limit for a session file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SessionError(f"{where}: not a Kepler session file (not UTF-8 text)") from None


def _refuse_constant(name: str):
    raise _Bad("", f"{name} is not JSON")  # Python's json would accept NaN/Infinity otherwise


# ---------------------------------------------------------------------- checked reading
_SETTING_TYPES = {
    "dataset": "str", "model": "str", "input_transform": "str", "input_scale": "number",
    "val_fraction": "number", "split_seed": "int", "train_indices": "indices", "val_indices": "indices",
    "init_seed": "int", "dtype": "str", "x_column": "column", "y_column": "column",
    "optimizer": "str", "learning_rate": "number", "momentum": "number", "nesterov": "bool",
    "weight_decay": "number", "beta1": "number", "beta2": "number", "zero_grad": "bool", "epochs": "int",
    "early_stopping": "bool", "overfit_patience": "int",
}


# Fields added to version 1 later: a file may hold them or not (then they keep their default).
_OPTIONAL_SETTINGS = {"init_w": "number", "init_b": "number", "batch_seed": "int", "batch_size": "int or null"}


def _settings(cls, value, field: str):
    # The fields a version 1 file holds; a field added to the class later keeps its default.
    names = {f.name for f in fields(cls)} & set(_SETTING_TYPES)
    optional = {f.name for f in fields(cls)} & set(_OPTIONAL_SETTINGS)
    value = dict(_obj(value, field))
    extra = {name: value.pop(name) for name in optional if name in value}
    value = _keys(value, field, names)
    kwargs = {}
    for name in [*names, *extra]:
        path = f"{field}.{name}"
        kind = _SETTING_TYPES.get(name) or _OPTIONAL_SETTINGS[name]
        v = value[name] if name in names else extra[name]
        if kind == "int or null":  # null: the default (a full batch)
            kind = "int" if v is not None else "null"
        if kind == "null":
            kwargs[name] = None
        elif kind == "str":
            kwargs[name] = _str(v, path)
        elif kind == "number":
            kwargs[name] = _number(v, path, allow_non_finite=False)
        elif kind == "int":
            kwargs[name] = _int(v, path, low=None)
        elif kind == "bool":
            kwargs[name] = _bool(v, path)
        elif kind == "indices":
            kwargs[name] = None if v is None else tuple(_int(i, f"{path}[{j}]") for j, i in enumerate(_list(v, path)))
        elif kind == "column":
            if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
                raise _Bad(path, "should be a column name, a position or null")
            kwargs[name] = v
    return cls(**kwargs)


def _dataset_from_dict(value, setup: Setup):
    from data import DataError, Dataset, builtin_names, check_points, load_builtin

    if not isinstance(value, dict):
        raise _Bad("dataset", "should be an object")
    if "builtin" in value:
        value = _keys(value, "dataset", {"builtin", "points", "sha256"})
        name = _str(value["builtin"], "dataset.builtin")
        if name not in builtin_names():
            raise _Bad("dataset.builtin", f"names '{name}', which this Kepler does not have (it has "
                                          f"{', '.join(builtin_names())})")
        if name != setup.dataset:
            raise _Bad("dataset.builtin", f"is '{name}' but the setup trains on '{setup.dataset}'")
        shipped = load_builtin(name)
        if (_int(value["points"], "dataset.points") != len(shipped)
                or _str(value["sha256"], "dataset.sha256") != _fingerprint(shipped.x, shipped.y)):
            raise _Bad("dataset", f"the built-in dataset '{name}' has changed since this session was saved")
        return None  # the Trainer loads the built-in itself
    value = _keys(value, "dataset", {"name", "x_label", "y_label", "description", "source", "x", "y"})
    name = _str(value["name"], "dataset.name")
    if name != setup.dataset:
        raise _Bad("dataset.name", f"is '{name}' but the setup trains on '{setup.dataset}'")
    xs = [_number(v, f"dataset.x[{i}]", allow_non_finite=False) for i, v in enumerate(_list(value["x"], "dataset.x"))]
    ys = [_number(v, f"dataset.y[{i}]", allow_non_finite=False) for i, v in enumerate(_list(value["y"], "dataset.y"))]
    try:
        x, y = check_points(xs, ys, where="dataset")
    except DataError as exc:
        raise _Bad("dataset", f"is not usable: {exc}") from None
    return Dataset(name, x, y, _str(value["x_label"], "dataset.x_label"), _str(value["y_label"], "dataset.y_label"),
                   _str(value["description"], "dataset.description"), _str(value["source"], "dataset.source"))


_FRAME_KEYS = {"epoch", "state", "stopped_early", "params", "grads", "optimizer", "best_val", "first_loss", "last",
               "divergence"}
_BATCH_FRAME_KEYS = {"steps", "batch_rng"}  # version 3
_RNG_KEYS = {"state", "inc", "has_uint32", "uinteger"}


def _frame_keys(version: int) -> set:
    return _FRAME_KEYS | _BATCH_FRAME_KEYS if version >= 3 else _FRAME_KEYS


def _state_from_dict(value, version: int = VERSION) -> dict:
    f = "trainer"
    histories = {"history"} | ({"batch_history"} if version >= 3 else set())
    value = _keys(value, f, _frame_keys(version) | {"param_names", "rewind"} | histories)
    names = [_str(n, f"{f}.param_names[{i}]") for i, n in enumerate(_list(value["param_names"], f"{f}.param_names"))]
    read = {name: _history_from_json(value[name], f"{f}.{name}", whole_epochs=name == "history") for name in histories}
    frames = _list(value["rewind"], f"{f}.rewind")
    # Version 1 frames held only parameters: such a run cannot step back past its save.
    rewind = [_rewind_frame_from_json(frame, f"{f}.rewind[{i}]", version)
              for i, frame in enumerate(frames)] if version >= 2 else []
    return {**_frame_from_json(value, f, version), "param_names": names, **read, "rewind": rewind}


def _history_from_json(value, path: str, whole_epochs: bool = True) -> dict:
    history = _keys(value, path, {"capacity", "bucket_width", "total_epochs", "buckets", "open"})
    buckets = _obj(history["buckets"], f"{path}.buckets")
    hist = {
        "capacity": _int(history["capacity"], f"{path}.capacity"),
        "bucket_width": _int(history["bucket_width"], f"{path}.bucket_width"),
        "total_epochs": _int(history["total_epochs"], f"{path}.total_epochs"),
        "buckets": {k: [_number(v, f"{path}.buckets.{k}[{i}]") for i, v in enumerate(_list(col, f"{path}.buckets.{k}"))]
                    for k, col in buckets.items()},
        "open": _open_bucket(history["open"], f"{path}.open", whole_epochs),
    }
    if hist["capacity"] > 1 << 20:
        raise _Bad(f"{path}.capacity", f"is {hist['capacity']}, more than a history ever holds")
    return hist


def _open_bucket(value, path: str, whole_epochs: bool = True):
    if value is None:
        return None
    bucket = _list(value, path)
    if len(bucket) != 8:
        raise _Bad(path, "should hold 8 values")
    position = _int(bucket[0], f"{path}[0]") if whole_epochs else _number(bucket[0], f"{path}[0]", allow_non_finite=False)
    return [position, *(_number(v, f"{path}[{i + 1}]") for i, v in enumerate(bucket[1:7])), _int(bucket[7], f"{path}[7]")]


def _frame_from_json(value: dict, f: str, version: int = VERSION) -> dict:
    """One moment of a run, every field checked for its type (the Trainer checks the rest)."""
    def arrays(v, path, allow_none=False):
        return [None if (a is None and allow_none) else _array(a, f"{path}[{i}]") for i, a in enumerate(_list(v, path))]

    optimizer = _keys(value["optimizer"], f"{f}.optimizer", {"kind", "state"})
    opt_state = {}
    for key, entry in _obj(optimizer["state"], f"{f}.optimizer.state").items():
        path = f"{f}.optimizer.state.{key}"
        if not key.isdigit():
            raise _Bad(path, "should be named by a parameter's index")
        opt_state[int(key)] = {k: _optimizer_value_from_json(v, f"{path}.{k}") for k, v in _obj(entry, path).items()}

    best = dict(_obj(value["best_val"], f"{f}.best_val"))
    best_extras = {key: best.pop(key) for key in ("train_loss", "grads", "steps") if key in best}  # later additions
    best = _keys(best, f"{f}.best_val", {"loss", "epoch", "params"})
    last = value["last"]
    if last is not None:
        last = _keys(last, f"{f}.last", {"train_loss", "val_loss", "update"})
        last = {"train_loss": _number(last["train_loss"], f"{f}.last.train_loss"),
                "val_loss": _optional(_number, last["val_loss"], f"{f}.last.val_loss"),
                "update": None if last["update"] is None else arrays(last["update"], f"{f}.last.update")}
    divergence = value["divergence"]
    if divergence is not None:
        d = _keys(divergence, f"{f}.divergence", {"epoch", "loss", "grad_norms", "params"})
        divergence = {
            "epoch": _int(d["epoch"], f"{f}.divergence.epoch"),
            "loss": _number(d["loss"], f"{f}.divergence.loss"),
            "grad_norms": {k: _number(v, f"{f}.divergence.grad_norms.{k}")
                           for k, v in _obj(d["grad_norms"], f"{f}.divergence.grad_norms").items()},
            "params": {k: _array(v, f"{f}.divergence.params.{k}")
                       for k, v in _obj(d["params"], f"{f}.divergence.params").items()},
        }
    return {
        "epoch": _int(value["epoch"], f"{f}.epoch"),
        "state": _str(value["state"], f"{f}.state"),
        "stopped_early": _bool(value["stopped_early"], f"{f}.stopped_early"),
        "params": arrays(value["params"], f"{f}.params"),
        "grads": arrays(value["grads"], f"{f}.grads", allow_none=True),
        "optimizer": {"kind": _str(optimizer["kind"], f"{f}.optimizer.kind"), "state": opt_state},
        "best_val": {"loss": _optional(_number, best["loss"], f"{f}.best_val.loss"),
                     "epoch": _optional(_int, best["epoch"], f"{f}.best_val.epoch"),
                     "params": None if best["params"] is None else arrays(best["params"], f"{f}.best_val.params"),
                     "train_loss": _optional(_number, best_extras.get("train_loss"), f"{f}.best_val.train_loss"),
                     "grads": None if best_extras.get("grads") is None else arrays(
                         best_extras["grads"], f"{f}.best_val.grads", allow_none=True),
                     "steps": _optional(_int, best_extras.get("steps"), f"{f}.best_val.steps")},
        "first_loss": _optional(_number, value["first_loss"], f"{f}.first_loss"),
        "last": last,
        "divergence": divergence,
        **(_batch_fields(value, f) if version >= 3 else {}),
    }


def _batch_fields(value: dict, f: str) -> dict:
    """A version 3 frame's optimizer steps and shuffling generator (numpy's PCG64 state)."""
    rng = _keys(value["batch_rng"], f"{f}.batch_rng", _RNG_KEYS)
    return {"steps": _int(value["steps"], f"{f}.steps"),
            "batch_rng": {key: _int(rng[key], f"{f}.batch_rng.{key}") for key in sorted(_RNG_KEYS)}}


# ---------------------------------------------------------------------- a run that could have happened
_RUN_STATES = ("ready", "running", "paused", "diverged", "finished")
_MAX_HISTORY_CAPACITY = 1 << 16  # the app and `kepler train` keep 2048 buckets


def _check_run(state: dict, version: int = VERSION) -> None:
    """Ranges, orderings and sizes of a saved run, each within what the trainer itself
    writes: a damaged or hand-edited file is refused here, naming the field, before any of
    it reaches a Trainer or a plot."""
    f = "trainer"
    epoch = state["epoch"]
    if epoch > MAX_EPOCH_BUDGET:
        raise _Bad(f"{f}.epoch", f"is {epoch}, beyond the largest epoch budget ({MAX_EPOCH_BUDGET})")
    if state["state"] not in _RUN_STATES:
        raise _Bad(f"{f}.state", f"is '{_short(state['state'])}', not one of {', '.join(_RUN_STATES)}")
    names = state["param_names"]
    if len(set(names)) != len(names):
        raise _Bad(f"{f}.param_names", "names a parameter twice")
    _check_history(state["history"], epoch, f"{f}.history")

    best = state["best_val"]
    if best["epoch"] is None:
        if best["params"] is not None or best["loss"] is not None:
            raise _Bad(f"{f}.best_val.epoch", "is null, but a best validation loss is given")
    else:
        if not 1 <= best["epoch"] <= epoch:
            raise _Bad(f"{f}.best_val.epoch", f"is {best['epoch']}, not an epoch of this run (1..{epoch})")
        if best["loss"] is None or not math.isfinite(best["loss"]) or best["loss"] < 0:
            raise _Bad(f"{f}.best_val.loss", "should be a finite loss >= 0")
    if state["stopped_early"] and (state["state"] != "finished" or best["params"] is None):
        raise _Bad(f"{f}.stopped_early", "is true, but the run has not finished at a best epoch")

    divergence = state["divergence"]
    if (state["state"] == "diverged") != (divergence is not None):
        raise _Bad(f"{f}.divergence", "should be given exactly when the state is 'diverged'")
    if divergence is not None:
        d = f"{f}.divergence"
        if not 1 <= divergence["epoch"] <= epoch:
            raise _Bad(f"{d}.epoch", f"is {divergence['epoch']}, not an epoch of this run (1..{epoch})")
        if math.isfinite(divergence["loss"]):
            raise _Bad(f"{d}.loss", "is a finite number; a run diverges when its loss is not")
        for name, norm in divergence["grad_norms"].items():
            if name not in names:
                raise _Bad(f"{d}.grad_norms.{_short(name)}", "is not a parameter of the model")
            if norm < 0:
                raise _Bad(f"{d}.grad_norms.{name}", f"is {norm}; a gradient's size is not negative")
        if set(divergence["params"]) != set(names):
            raise _Bad(f"{d}.params", "should hold every parameter of the model, by name")

    steps = state.get("steps", epoch)  # before version 3: full batches, one step per epoch
    if steps < epoch:
        raise _Bad(f"{f}.steps", f"is {steps}, fewer than the run's {epoch} epochs (each takes a step at least)")
    if best["epoch"] is not None and best.get("steps") is not None and not best["epoch"] <= best["steps"] <= steps:
        raise _Bad(f"{f}.best_val.steps", f"is {best['steps']}, not a step count of epochs 1..{best['epoch']}")
    if "batch_history" in state:
        _check_history(state["batch_history"], epoch, f"{f}.batch_history", steps=steps)
    for index, entry in state["optimizer"]["state"].items():
        for key, value in entry.items():
            # The whole numbers an optimizer keeps are step counts.
            if isinstance(value, int) and not 0 <= value <= steps:
                raise _Bad(f"{f}.optimizer.state.{index}.{key}", f"is {value}, outside 0..{steps} (the run's steps)")
    if version >= 2:  # version 1 frames held only parameters: they are not loaded
        _check_rewind_frames(state["rewind"], epoch, f"{f}.rewind")


def _check_history(hist: dict, epoch: int, path: str, steps: int | None = None) -> None:
    """The loss history: as LossHistory writes it (see history.py), covering `epoch` epochs.
    With `steps`: the batch losses of a run that took that many steps, at most one entry
    per step, at positions (fractions of an epoch) rising from 0 to `epoch`."""
    capacity, width, total = hist["capacity"], hist["bucket_width"], hist["total_epochs"]
    if not 4 <= capacity <= _MAX_HISTORY_CAPACITY or capacity % 2:
        raise _Bad(f"{path}.capacity", f"is {capacity}; a history holds an even number of buckets, "
                                       f"4..{_MAX_HISTORY_CAPACITY}")
    # Buckets double in width as a run grows; a rewind shortens the run but not the width
    # (by up to REWIND_DEPTH epochs: as many steps as points each, in a batch history).
    widest = 2 * (epoch + Trainer.REWIND_DEPTH) if steps is None else 2 ** 62
    if width & (width - 1) or not 1 <= width <= widest:
        raise _Bad(f"{path}.bucket_width", f"is {width}; a power of 2 up to {widest} for a run at epoch {epoch}")
    if steps is None and total != epoch:
        raise _Bad(f"{path}.total_epochs", f"is {total}, but the run is at epoch {epoch}")
    if steps is not None and total > steps:
        raise _Bad(f"{path}.total_epochs", f"is {total}, more batch losses than the run's {steps} steps")
    columns = hist["buckets"]
    expected = ("epoch", "train", "train_min", "train_max", "val", "val_min", "val_max")
    if sorted(columns) != sorted(expected):
        raise _Bad(f"{path}.buckets", f"should have the columns {', '.join(expected)}")
    n = len(columns["epoch"])
    for name in expected:
        if len(columns[name]) != n:
            raise _Bad(f"{path}.buckets.{name}", f"holds {len(columns[name])} values, the epoch column {n}")
    if n > capacity:
        raise _Bad(f"{path}.buckets.epoch", f"holds {n} buckets, more than the capacity {capacity}")
    previous = 0
    for i, value in enumerate(columns["epoch"]):
        if not math.isfinite(value) or (steps is None and value != int(value)):
            raise _Bad(f"{path}.buckets.epoch[{i}]", f"is {value}, not a whole epoch number")
        if not previous < value <= epoch:
            rise = f"epochs rise from 1 to the run's {epoch}" if steps is None else \
                f"batch positions rise from 0 to the run's epoch {epoch}"
            raise _Bad(f"{path}.buckets.epoch[{i}]", f"is {value:g}; {rise}")
        previous = value
    bucket = hist["open"]
    if bucket is not None:
        if not previous < bucket[0] <= epoch:
            raise _Bad(f"{path}.open[0]", f"is {bucket[0]}; the open bucket's epoch follows the others, up to {epoch}")
        if not 1 <= bucket[7] < width:
            raise _Bad(f"{path}.open[7]", f"is {bucket[7]}; an open bucket holds 1..{width - 1} entries")


def _short(text, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _optimizer_value_from_json(value, path: str):
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, dict) and set(value) == {"float"}:
        return _number(value["float"], path)
    if isinstance(value, dict):
        return _array(value, path)
    raise _Bad(path, f"should be an array, a whole number or a tagged float, not {_kind(value)}")


def _ghost_from_json(value, path: str, depth: int = 0):
    if depth > _MAX_GHOST_DEPTH:
        raise _Bad(path, f"is nested deeper than {_MAX_GHOST_DEPTH} levels")
    if isinstance(value, list):
        return [_ghost_from_json(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return _array(value["__array__"], path)
        if set(value) == {"__float__"}:
            return _number(value["__float__"], path)
        return {k: _ghost_from_json(v, f"{path}.{k}", depth + 1) for k, v in value.items()}
    return value  # None, bool, int, float, str: JSON gives nothing else


# ---------------------------------------------------------------------- field checks
def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a whole number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _obj(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise _Bad(path or "(top)", f"should be an object, not {_kind(value)}")
    return value


def _keys(value, path: str, required: set) -> dict:
    value = _obj(value, path)
    missing = sorted(required - set(value))
    if missing:
        raise _Bad(f"{path}.{missing[0]}" if path else missing[0], "is missing")
    unknown = sorted(set(value) - required)
    if unknown:
        raise _Bad(f"{path}.{unknown[0]}" if path else unknown[0], "is not a field of a Kepler session")
    return value


def _list(value, path: str) -> list:
    if not isinstance(value, list):
        raise _Bad(path, f"should be a list, not {_kind(value)}")
    return value


def _str(value, path: str) -> str:
    if not isinstance(value, str):
        raise _Bad(path, f"should be a string, not {_kind(value)}")
    return value


def _bool(value, path: str) -> bool:
    if not isinstance(value, bool):
        raise _Bad(path, f"should be true or false, not {_kind(value)}")
    return value


def _int(value, path: str, low: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(path, f"should be a whole number, not {_kind(value)}")
    if low is not None and value < low:
        raise _Bad(path, f"should be at least {low} (got {value})")
    return value


def _number(value, path: str, allow_non_finite: bool = True) -> float:
    if isinstance(value, str) and allow_non_finite and value in _NON_FINITE:
        return _NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        allowed = ' or "inf", "-inf", "nan"' if allow_non_finite else ""
        raise _Bad(path, f"should be a number{allowed}, not {_kind(value)}")
    try:
        return float(value)
    except OverflowError:  # an int too large for a double
        raise _Bad(path, "is too large a number") from None


def _optional(check, value, path: str):
    return None if value is None else check(value, path)


def _array(value, path: str) -> np.ndarray:
    value = _keys(value, path, {"dtype", "shape", "data"})
    dtype = _str(value["dtype"], f"{path}.dtype")
    if dtype not in _DTYPES:
        raise _Bad(f"{path}.dtype", f"is '{dtype}'; arrays are {', '.join(_DTYPES)}")
    shape = [_int(n, f"{path}.shape[{i}]") for i, n in enumerate(_list(value["shape"], f"{path}.shape"))]
    if len(shape) > 4:
        raise _Bad(f"{path}.shape", "has more than 4 dimensions")
    size = math.prod(shape)
    data = _list(value["data"], f"{path}.data")
    if len(data) != size:
        raise _Bad(f"{path}.data", f"holds {len(data)} values for shape {shape} ({size} values)")
    if dtype == "int64":
        values = [_int(v, f"{path}.data[{i}]", low=None) for i, v in enumerate(data)]
        try:
            return np.array(values, dtype=np.int64).reshape(shape)
        except OverflowError:
            raise _Bad(f"{path}.data", "holds a number too large for int64") from None
    values = [_number(v, f"{path}.data[{i}]") for i, v in enumerate(data)]
    with np.errstate(over="ignore"):  # a double beyond float32 becomes inf, as it would have in training
        return np.array(values, dtype=np.float64).astype(dtype).reshape(shape)
