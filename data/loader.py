"""Load a dataset of (x, y) pairs from a CSV file.

A built-in dataset is a CSV under `data/datasets/` whose first comment line says what it
teaches. Errors are `DataError`s whose message names the file, the line and the problem,
so every caller can show them in one line.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BUILTIN_DIR = Path(__file__).parent / "datasets"
MAX_BYTES = 10 * 1024 * 1024  # a teaching dataset is small; refuse anything past 10 MB
MAX_ROWS = 100_000


class DataError(ValueError):
    """A dataset could not be loaded; the message is one line for the user."""


@dataclass(frozen=True)
class Dataset:
    """Paired readings: `x` is what the model sees, `y` what it must predict."""

    name: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    x_label: str = "x"
    y_label: str = "y"
    description: str = ""
    source: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.csv"))


def load_builtin(name: str = "thermometer") -> Dataset:
    path = BUILTIN_DIR / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"unknown dataset '{name}': built-in datasets are {', '.join(builtin_names())}")
    return load_csv(path, name=name)


def load_csv(path, x_column: str | int | None = None, y_column: str | int | None = None,
             name: str | None = None) -> Dataset:
    """Read two numeric columns (the first two unless named) from a CSV file."""
    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{where}: no such file") from None
    except OSError as exc:
        raise DataError(f"{where}: cannot read ({exc.strerror})") from None
    if path.is_dir():
        raise DataError(f"{where}: is a directory, not a CSV file")
    if size > MAX_BYTES:
        raise DataError(f"{where}: {size / 1e6:.1f} MB is larger than the {MAX_BYTES // 2**20} MB limit")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{where}: cannot read ({exc.strerror})") from None
    if b"\x00" in raw:
        raise DataError(f"{where}: looks like a binary file, not CSV text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where}, line {line}: not UTF-8 text (save the file as UTF-8)") from None

    description = ""
    rows: list[tuple[int, list[str]]] = []
    lines = text.splitlines()
    dialect_sample = "\n".join(l for l in lines if l.strip() and not l.lstrip().startswith("#"))[:4096]
    delimiter = _guess_delimiter(dialect_sample)
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not description and not rows:
                description = stripped.lstrip("#").strip()
            continue
        cells = next(csv.reader([line], delimiter=delimiter))
        rows.append((lineno, [c.strip() for c in cells]))
        if len(rows) > MAX_ROWS + 1:
            raise DataError(f"{where}: more than {MAX_ROWS} rows")
    if not rows:
        raise DataError(f"{where}: no data (the file is empty or only comments)")

    header: list[str] | None = None
    if not all(_is_number(c) for c in rows[0][1]):
        header = rows[0][1]
        rows = rows[1:]
    if not rows:
        raise DataError(f"{where}: a header but no data rows")
    width = len(header) if header else len(rows[0][1])
    xi = _column_index(x_column, header, width, where, "x", default=0)
    yi = _column_index(y_column, header, width, where, "y", default=1)
    if width < 2 and (x_column is None or y_column is None):
        raise DataError(f"{where}, line {rows[0][0]}: need two columns (x and y), found {width}")

    xs, ys = [], []
    for lineno, cells in rows:
        if len(cells) != width:
            raise DataError(f"{where}, line {lineno}: {len(cells)} fields where the header row has {width}")
        values = []
        for col in (xi, yi):
            cell = cells[col]
            label = header[col] if header else f"column {col + 1}"
            try:
                value = float(cell)
            except ValueError:
                raise DataError(f"{where}, line {lineno}, {label}: '{cell}' is not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{where}, line {lineno}, {label}: '{cell}' is not a finite number")
            values.append(value)
        xs.append(values[0])
        ys.append(values[1])
    if len(xs) < 2:
        raise DataError(f"{where}: only one data row; at least two points are needed to fit anything")
    x = np.array(xs, dtype=np.float64)
    y = np.array(ys, dtype=np.float64)
    x_label = header[xi] if header else "x"
    y_label = header[yi] if header else "y"
    if np.all(x == x[0]):
        raise DataError(f"{where}, {x_label}: every value is {x[0]:g}; the input column must vary")
    return Dataset(name=name or path.stem, x=x, y=y, x_label=x_label, y_label=y_label,
                   description=description, source=str(path))


def _guess_delimiter(sample: str) -> str:
    counts = {d: sample.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column_index(column, header, width, where, role, default) -> int:
    if column is None:
        return default
    if isinstance(column, int) or (isinstance(column, str) and column.isdigit()):
        index = int(column) - 1 if isinstance(column, str) else column
        if not 0 <= index < width:
            raise DataError(f"{where}: {role} column {index + 1} is out of range (the file has {width} columns)")
        return index
    if header is None or column not in header:
        known = ", ".join(header) if header else "none (the file has no header row)"
        raise DataError(f"{where}: no column named '{column}' for {role}; columns are {known}")
    return header.index(column)
