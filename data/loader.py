"""Load a dataset of (x, y) pairs from a CSV file.

A built-in dataset is a CSV under `data/datasets/` whose first comment line says what it
teaches. A user's file is read with the same code, which accepts what spreadsheets and
people write: an optional header row, columns chosen by name or by position (1, 2, ...),
comma, semicolon or tab between cells, `#` comment lines and blank lines anywhere, a UTF-8
byte-order mark, and decimal commas when the cells are separated by semicolons or tabs.

Anything else is refused with a `DataError` whose message is one line naming the file, the
line (or the column) and the problem, so every caller can show it as it is and carry on
with the data it had. The limits are stated: at most `MAX_BYTES` of UTF-8 text and
`MAX_ROWS` data rows, every value finite and within float32's range (the engine trains in
float32 by default, where 1e39 is already infinity).

One decision worth stating: a *constant input* column is refused (no line can be fitted
through points that all share one x, and standardising it divides by zero), but a constant
target column is accepted: fitting it is well defined (w goes to 0, b to the constant).
"""
from __future__ import annotations

import codecs
import csv
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BUILTIN_DIR = Path(__file__).parent / "datasets"
MAX_BYTES = 10 * 1024 * 1024  # a teaching dataset is small; refuse anything past 10 MB
MAX_ROWS = 100_000
MIN_POINTS = 2
FLOAT32_MAX = float(np.finfo(np.float32).max)
FILE_PREFIX = "csv:"  # `csv:name` forces a file reading even for a name without a suffix
FILE_SUFFIXES = (".csv", ".tsv", ".txt")
TRY_PREFIX = "Try:"  # a comment line holding the dataset's suggested setup
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DataError(ValueError):
    """A dataset could not be loaded; the message is one line for the user."""


@dataclass(frozen=True)
class Dataset:
    """Paired readings: `x` is what the model sees, `y` what it must predict.

    `name` is the reference that loads it again: a built-in name (`thermometer`) or a
    file reference (`csv:/path/file.csv`), so a Trainer can tell whether a dataset it was
    handed is the one its Setup names."""

    name: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    x_label: str = "x"
    y_label: str = "y"
    description: str = ""
    source: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def title(self) -> str:
        """A short name to show: the built-in's name or the file's name without folders."""
        if is_file_reference(self.name):
            return file_path(self.name).name
        return self.name

    def with_points(self, x, y) -> "Dataset":
        """The same dataset with other points (an edited copy); checked like a loaded file."""
        x, y = check_points(x, y, where=self.title)
        return Dataset(self.name, x, y, self.x_label, self.y_label, self.description, self.source)


# ---------------------------------------------------------------------- naming datasets
def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.csv"))


def is_file_reference(dataset: str) -> bool:
    """True for a file (`csv:...`, anything with a folder separator or a .csv/.tsv/.txt
    suffix), False for a built-in dataset's name."""
    return (dataset.startswith(FILE_PREFIX) or "/" in dataset or os.sep in dataset
            or dataset.lower().endswith(FILE_SUFFIXES))


def file_reference(path) -> str:
    """How a Setup names a user's file: the path itself when it reads as one, else `csv:path`."""
    text = os.fspath(path)
    return text if is_file_reference(text) else FILE_PREFIX + text


def file_path(dataset: str) -> Path:
    text = dataset[len(FILE_PREFIX):] if dataset.startswith(FILE_PREFIX) else dataset
    return Path(text).expanduser()


def load_builtin(name: str = "thermometer") -> Dataset:
    # Compared with the names shipped, never used as a path first: a name longer than the
    # file system allows would raise OSError (ENAMETOOLONG) instead of this message.
    if not isinstance(name, str) or name not in builtin_names():
        raise DataError(f"unknown dataset '{_show(name)}': built-in datasets are {', '.join(builtin_names())}")
    return load_csv(BUILTIN_DIR / f"{name}.csv", name=name)


def load_dataset(dataset: str, x_column: str | int | None = None, y_column: str | int | None = None) -> Dataset:
    """A built-in by name or a user's file by reference (see `is_file_reference`)."""
    if is_file_reference(dataset):
        return load_csv(file_path(dataset), x_column, y_column, name=dataset)
    if x_column is not None or y_column is not None:
        raise DataError(f"columns can only be chosen in a CSV file, not in the built-in dataset '{_show(dataset)}'")
    return load_builtin(dataset)


@dataclass(frozen=True)
class TryLine:
    """A file's suggested setup, as its `# Try:` comment writes it (built-in datasets have
    one, after the line saying what they teach): `text` follows "Try:", `where` names the
    file and line for messages."""

    text: str
    where: str


def try_line(path) -> TryLine | None:
    """The first `# Try: ...` comment above the data, or None. DataError if unreadable."""
    path = Path(path)
    where = _show(path.name, limit=100, keep_end=True)
    for lineno, line in enumerate(_read_text(path, where).splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return None  # the data has begun: a Try line belongs above it
        comment = stripped.lstrip("#").strip()
        if comment.startswith(TRY_PREFIX):
            return TryLine(_clean(comment[len(TRY_PREFIX):].strip()), f"{where}, line {lineno}")
    return None


# ---------------------------------------------------------------------- reading a file
def load_csv(path, x_column: str | int | None = None, y_column: str | int | None = None,
             name: str | None = None) -> Dataset:
    """Read two numeric columns from a CSV file: the first two, or the ones named.

    A column is chosen by its header name or by its position counted from 1 (as a
    spreadsheet or `cut -f` counts), given as an int or a string of digits."""
    path = Path(path)
    table = _read_table(path)
    where, header, width, width_line = table.where, table.header, table.width, table.width_line
    xi = _column_index(x_column, header, width_line, width, where, "x", default=0)
    yi = _column_index(y_column, header, width_line, width, where, "y", default=1)
    if xi == yi:
        raise DataError(f"{where}, line {width_line}: x and y are both column {xi + 1}; choose two different columns")

    xs, ys = [], []
    for lineno, cells in table.rows:
        if len(cells) != width:
            what = "the header row" if header else "the first row"
            cells_text = "1 cell" if len(cells) == 1 else f"{len(cells)} cells"
            raise DataError(f"{where}, line {lineno}: {cells_text} where {what} (line {width_line}) has "
                            f"{width}; a missing or stray {_SEPARATORS[table.delimiter]}?")
        xs.append(_number(cells[xi], table.delimiter, where, lineno, _label(header, xi)))
        ys.append(_number(cells[yi], table.delimiter, where, lineno, _label(header, yi)))
    if len(xs) < MIN_POINTS:
        raise DataError(f"{where}, line {table.rows[0][0]}: only one data row; at least {MIN_POINTS} points are "
                        f"needed to fit anything")
    x_label = header[xi] if header else "x"
    y_label = header[yi] if header else "y"
    x, y = check_points(xs, ys, where, x_label=x_label)
    return Dataset(name=name or path.stem, x=x, y=y, x_label=x_label, y_label=y_label,
                   description=table.description, source=str(path))


def csv_columns(path) -> list[str]:
    """The columns a file offers to choose from (for an open-file dialog): the header's
    names, or "1", "2", ... when there is no header row. DataError if it is no table."""
    table = _read_table(Path(path))
    return list(table.header) if table.header else [str(i + 1) for i in range(table.width)]


@dataclass(frozen=True)
class _Table:
    where: str  # the file, as messages name it
    description: str  # the first comment line
    delimiter: str
    header: list[str] | None
    width: int  # cells per row
    width_line: int  # the line that sets the width (the header, or the first data row)
    rows: list[tuple[int, list[str]]]  # (line number, cells) of the data rows


def _read_table(path: Path) -> _Table:
    where = _show(str(path), limit=100, keep_end=True)  # the end of a long path has the file's name
    text = _read_text(path, where)
    lines = text.splitlines()

    description = ""
    content: list[tuple[int, str]] = []  # (line number, text) of the lines that hold cells
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not description and not content:
                description = _clean(stripped.lstrip("#").strip())
            continue
        content.append((lineno, line))
        if len(content) > MAX_ROWS + 1:  # + 1: the header row
            raise DataError(f"{where}, line {lineno}: more than {MAX_ROWS} data rows (the limit for a dataset)")
    if not content:
        if not text.strip():
            raise DataError(f"{where}: the file is empty")
        raise DataError(f"{where}: no data, only comments and blank lines")

    delimiter = _guess_delimiter([line for _, line in content[:50]])
    rows = []
    for lineno, line in content:
        try:
            cells = next(csv.reader([line], delimiter=delimiter, strict=True))
        except csv.Error as exc:
            raise DataError(f"{where}, line {lineno}: cannot split the line into cells ({exc})") from None
        rows.append((lineno, [c.strip() for c in cells]))

    header: list[str] | None = None
    header_line = None
    if not all(_is_number(c, delimiter) for c in rows[0][1]):
        header_line, header = rows[0][0], [_clean(c) for c in rows[0][1]]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{where}, line {header_line}: a header row but no data rows")
    width_line, width = (header_line, len(header)) if header else (rows[0][0], len(rows[0][1]))
    if width < 2:
        raise DataError(f"{where}, line {width_line}: only one column; need two (x and y) separated by "
                        f"a comma, semicolon or tab")
    return _Table(where, description, delimiter, header, width, width_line, rows)


def check_points(x, y, where: str, x_label: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as float64 arrays, or a DataError: equal lengths, at least two points, every
    value finite and within float32's range, and an input that varies."""
    try:
        x = np.array(x, dtype=np.float64).reshape(-1)
        y = np.array(y, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{where}: the points are not numbers") from None
    if x.shape != y.shape:
        raise DataError(f"{where}: {x.size} x values but {y.size} y values")
    if x.size < MIN_POINTS:
        raise DataError(f"{where}: {x.size} point(s); at least {MIN_POINTS} are needed to fit anything")
    if x.size > MAX_ROWS:
        raise DataError(f"{where}: {x.size} points; the limit for a dataset is {MAX_ROWS}")
    for name, values in (("x", x), ("y", y)):
        bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{where}, point {i + 1}: {name} = {values[i]:g} is not a finite float32 number")
    if np.all(x == x[0]):
        raise DataError(f"{where}, column '{_show(x_label)}': every value is {x[0]:g}; the input column must "
                        f"vary to fit anything")
    return x, y


def _read_text(path: Path, where: str) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"{where}: no such file") from None
    except NotADirectoryError:
        raise DataError(f"{where}: no such file (part of the path is not a folder)") from None
    except PermissionError:
        raise DataError(f"{where}: permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL inside the path itself
        raise DataError(f"{where}: cannot read ({_reason(exc)})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{where}: is a folder, not a CSV file")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device would block or never end (think /dev/zero).
        raise DataError(f"{where}: is not a regular file")
    if info.st_size > MAX_BYTES:
        raise DataError(f"{where}: {info.st_size / 2**20:.1f} MB is over the {MAX_BYTES // 2**20} MB limit for a dataset")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)  # bounded even if the file grows while we read it
    except PermissionError:
        raise DataError(f"{where}: permission denied") from None
    except OSError as exc:
        raise DataError(f"{where}: cannot read ({_reason(exc)})") from None
    if len(raw) > MAX_BYTES:
        raise DataError(f"{where}: over the {MAX_BYTES // 2**20} MB limit for a dataset")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark.
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise DataError(f"{where}, line {line}: broken UTF-16 text") from None
    if raw.startswith(b"PK\x03\x04"):
        raise DataError(f"{where}: a zip or Excel (.xlsx) file, not CSV text; export the sheet as CSV")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{where}, line {line}: a NUL byte; this looks like a binary file, not CSV text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where}, line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 text (perhaps Latin-1 "
                        f"or Windows-1252); save the file as UTF-8") from None


def _guess_delimiter(lines: list[str]) -> str:
    # The separator present on every line wins. Tab and semicolon are tried before the comma
    # because a semicolon (or tab) file may use decimal commas: "1,5;2,25".
    for candidate in ("\t", ";", ","):
        if all(candidate in line for line in lines):
            return candidate
    counts = {d: sum(line.count(d) for line in lines) for d in _SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _parse(cell: str, delimiter: str) -> float:
    if delimiter != "," and _DECIMAL_COMMA.fullmatch(cell):
        cell = cell.replace(",", ".")
    return float(cell)


def _is_number(cell: str, delimiter: str) -> bool:
    try:
        _parse(cell, delimiter)
    except ValueError:
        return False
    return True


def _number(cell: str, delimiter: str, where: str, lineno: int, label: str) -> float:
    if cell == "":
        raise DataError(f"{where}, line {lineno}, {label}: the cell is empty")
    try:
        value = _parse(cell, delimiter)
    except ValueError:
        raise DataError(f"{where}, line {lineno}, {label}: '{_show(cell)}' is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}, line {lineno}, {label}: '{_show(cell)}' is not a finite number")
    if abs(value) > FLOAT32_MAX:
        raise DataError(f"{where}, line {lineno}, {label}: '{_show(cell)}' is too large (beyond ±3.4e38, "
                        f"the float32 range)")
    return value


def _label(header: list[str] | None, index: int) -> str:
    return f"column '{_show(header[index])}'" if header else f"column {index + 1}"


def _column_index(column, header, line, width, where, role, default) -> int:
    """The 0-based index of the column chosen by name or by 1-based position; `line` is
    where the columns are counted (the header row, or the first data row)."""
    if column is None:
        return default
    if isinstance(column, bool) or not isinstance(column, (int, str)):
        raise DataError(f"{where}: the {role} column must be a name or a position from 1, not {_show(repr(column))}")
    if isinstance(column, str):
        wanted = column.strip()
        if header is not None and wanted in header:
            return header.index(wanted)
        if not wanted.isdigit():
            if header is None:
                raise DataError(f"{where}, line {line}: no column named '{_show(column)}' for {role}: the file has "
                                f"no header row, so choose columns by position (1 to {width})")
            raise DataError(f"{where}, line {line}: no column named '{_show(column)}' for {role}; the "
                            f"columns are {', '.join(_show(h) for h in header)}")
        column = int(wanted)
    if not 1 <= column <= width:
        raise DataError(f"{where}, line {line}: {role} column {column} is out of range; the file has {width} "
                        f"columns, numbered from 1")
    return column - 1


def _clean(text: str) -> str:
    """Without control characters: a label is shown in a terminal, where ESC would be obeyed."""
    return _CONTROL.sub("", text)


def _show(text: str, limit: int = 60, keep_end: bool = False) -> str:
    """Text safe to put in a one-line message: control characters escaped, length capped."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
    if len(text) <= limit:
        return text
    return "..." + text[3 - limit:] if keep_end else text[: limit - 3] + "..."


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
