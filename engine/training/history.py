"""Loss history in bounded memory, however long the run.

Every epoch's losses go into fixed-size buckets. While there is room each bucket holds one
epoch; when the buckets are full, neighbours merge pairwise and each bucket then covers
twice as many epochs. A run of a million epochs therefore keeps `capacity` buckets
(about 128 KB), each with the last, lowest and highest loss of the epochs it covers, so a
plot of the whole run shows spikes and the exact final values.

The same structure keeps a mini-batch run's per-step batch losses (`whole_epochs=False`):
there each entry's position is a fraction of an epoch (step j of m in epoch e sits at
e - 1 + j / m), its loss goes in the training columns and the validation columns stay NaN.

Rewinding a run restores the history to a `mark()` taken earlier, merges included: each
merge keeps a copy of the buckets it replaced. Buckets double in width at every merge, so a
run of S entries has merged about log2(S / capacity) times and the copies stay few (and the
trainer forgets those older than its oldest rewind frame).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_FIELDS = ("epoch", "train", "train_min", "train_max", "val", "val_min", "val_max")


@dataclass(frozen=True)
class HistoryView:
    """An immutable, decimated copy of the history for plotting (epoch-ordered)."""

    epochs: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray  # all NaN when there is no validation split
    total_epochs: int  # entries appended (epochs; in a batch history, steps)

    def __len__(self) -> int:
        return int(self.epochs.shape[0])


class LossHistory:
    MAX_UNDO = 64  # copies of merged buckets kept at most (2**64 entries: never reached)

    def __init__(self, capacity: int = 2048, whole_epochs: bool = True):
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.capacity = capacity
        self.whole_epochs = whole_epochs  # False: positions are fractions of an epoch (a batch history)
        self._cols = {name: np.empty(capacity, dtype=np.float64) for name in _FIELDS}
        self._n = 0  # closed buckets
        self._width = 1  # epochs per bucket
        self._open: list | None = None  # the bucket being filled: [epoch, t, tmin, tmax, v, vmin, vmax, count]
        self.total_epochs = 0
        # Rewinding needs the buckets as they were before each merge since the mark it goes
        # back to: (generation, columns) of each, oldest first.
        self._generation = 0  # merges so far
        self._undo: list[tuple[int, dict]] = []

    def append(self, epoch: int, train_loss: float, val_loss: float | None = None) -> None:
        v = math.nan if val_loss is None else val_loss
        b = self._open
        if b is None:
            self._open = b = [epoch, train_loss, train_loss, train_loss, v, v, v, 0]
        else:
            b[0] = epoch
            b[1] = train_loss
            b[2] = _nanmin(b[2], train_loss)
            b[3] = _nanmax(b[3], train_loss)
            b[4] = v
            b[5] = _nanmin(b[5], v)
            b[6] = _nanmax(b[6], v)
        b[7] += 1
        self.total_epochs += 1
        if b[7] >= self._width:
            self._close()

    def _close(self) -> None:
        b = self._open
        self._open = None
        if self._n == self.capacity:
            self._merge()
        i = self._n
        for j, name in enumerate(_FIELDS):
            self._cols[name][i] = b[j]
        self._n += 1

    def _merge(self) -> None:
        """Halve the number of buckets: each new bucket covers two old ones."""
        half = self._n // 2
        c = self._cols
        self._undo.append((self._generation, {name: column.copy() for name, column in c.items()}))
        del self._undo[: -self.MAX_UNDO]
        self._generation += 1
        for name in ("epoch", "train", "val"):  # the later bucket's last values
            c[name][:half] = c[name][1 : 2 * half : 2]
        with np.errstate(invalid="ignore"):
            for name, fn in (("train_min", np.fmin), ("val_min", np.fmin), ("train_max", np.fmax), ("val_max", np.fmax)):
                c[name][:half] = fn(c[name][0 : 2 * half : 2], c[name][1 : 2 * half : 2])
        self._n = half
        self._width *= 2

    def mark(self) -> tuple:
        """Where the history is now, to `restore` it to exactly this later (a rewind)."""
        return (self._generation, self._n, self._width,
                None if self._open is None else tuple(self._open), self.total_epochs)

    def restore(self, mark: tuple) -> None:
        """Back to the moment `mark()` was taken: everything appended since is forgotten
        (a merge since then is undone too), as if it had never been appended."""
        generation, n, width, open_bucket, total = mark
        if generation != self._generation:
            kept = [i for i, (g, _) in enumerate(self._undo) if g == generation]
            if generation > self._generation or not kept:
                raise ValueError(f"history mark of generation {generation} cannot be restored at {self._generation}")
            columns = self._undo[kept[0]][1]
            for name, column in columns.items():
                self._cols[name][:] = column
            del self._undo[kept[0]:]
            self._generation = generation
        self._n = n
        self._width = width
        self._open = None if open_bucket is None else list(open_bucket)
        self.total_epochs = total

    def forget_merges_before(self, generation: int) -> None:
        """Drop the copies that only a mark older than `generation` could need."""
        self._undo = [(g, columns) for g, columns in self._undo if g >= generation]

    @property
    def generation(self) -> int:
        """Merges so far (a mark's first value)."""
        return self._generation

    def _position(self, value):
        return int(value) if self.whole_epochs else float(value)

    def check_mark(self, mark: tuple, what: str) -> tuple:
        """`mark` if it is an earlier state of this history; ValueError naming `what` if not."""
        try:
            generation, n, width, open_bucket, total = mark
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be (generation, buckets, width, open bucket, epochs)") from None
        for name, value in (("buckets", n), ("width", width), ("epochs", total)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{what} {name} must be a whole number >= 0 (got {value!r})")
        if generation != self._generation or width != self._width or n > self._n or total > self.total_epochs:
            raise ValueError(f"{what} is not an earlier state of this history")
        if open_bucket is not None:
            if len(open_bucket) != len(_FIELDS) + 1 or not 1 <= open_bucket[-1] < width:
                raise ValueError(f"{what} open bucket is malformed")
            open_bucket = (self._position(open_bucket[0]), *(float(v) for v in open_bucket[1:-1]), int(open_bucket[-1]))
        return (generation, n, width, open_bucket, total)

    def to_dict(self) -> dict:
        """Everything needed to continue this history exactly: the closed buckets (as
        float64 arrays), the bucket being filled, the bucket width and the epoch count."""
        return {
            "capacity": self.capacity,
            "bucket_width": self._width,
            "total_epochs": self.total_epochs,
            "buckets": {name: self._cols[name][: self._n].copy() for name in _FIELDS},
            "open": None if self._open is None else list(self._open),
        }

    @classmethod
    def from_dict(cls, d, whole_epochs: bool = True) -> "LossHistory":
        """The inverse of `to_dict`; ValueError naming the field when something is off."""
        capacity, width, total = d["capacity"], d["bucket_width"], d["total_epochs"]
        for name, value in (("capacity", capacity), ("bucket_width", width), ("total_epochs", total)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"history {name} must be a whole number >= 0 (got {value!r})")
        if width < 1 or width & (width - 1):
            raise ValueError(f"history bucket_width must be a power of 2 (got {width})")
        history = cls(capacity, whole_epochs)  # checks the capacity
        buckets = d["buckets"]
        if set(buckets) != set(_FIELDS):
            raise ValueError(f"history buckets must have the columns {', '.join(_FIELDS)}")
        columns = {name: np.asarray(buckets[name], dtype=np.float64).reshape(-1) for name in _FIELDS}
        n = columns["epoch"].shape[0]
        if n > capacity or any(c.shape[0] != n for c in columns.values()):
            raise ValueError(f"history buckets must be {capacity} or fewer, the same number in every column")
        for name, column in columns.items():
            history._cols[name][:n] = column
        open_bucket = d["open"]
        if open_bucket is not None:
            if len(open_bucket) != len(_FIELDS) + 1:
                raise ValueError(f"history open bucket must have {len(_FIELDS) + 1} values")
            count = open_bucket[-1]
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count < width:
                raise ValueError(f"history open bucket count must be in 1..{width - 1} (got {count!r})")
            open_bucket = [history._position(open_bucket[0]), *(float(v) for v in open_bucket[1:-1]), count]
        history._n = n
        history._width = width
        history._open = open_bucket
        history.total_epochs = total
        return history

    @property
    def bucket_width(self) -> int:
        return self._width

    def __len__(self) -> int:
        return self._n + (self._open is not None)

    def columns(self) -> dict[str, np.ndarray]:
        """Every bucket, open one included, as fresh arrays."""
        cols = {name: self._cols[name][: self._n].copy() for name in _FIELDS}
        if self._open is not None:
            for j, name in enumerate(_FIELDS):
                cols[name] = np.append(cols[name], self._open[j])
        return cols

    def view(self, max_points: int = 512) -> HistoryView:
        """At most `max_points` evenly spread buckets, always ending at the newest epoch."""
        cols = self.columns()
        n = cols["epoch"].shape[0]
        if n > max_points > 0:
            idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
            cols = {k: v[idx] for k, v in cols.items()}
        positions = cols["epoch"].astype(np.int64) if self.whole_epochs else cols["epoch"]
        return HistoryView(positions, cols["train"], cols["val"], self.total_epochs)


def _nanmin(a: float, b: float) -> float:
    if a != a:
        return b
    return b if b < a else a


def _nanmax(a: float, b: float) -> float:
    if a != a:
        return b
    return b if b > a else a
