"""Kepler's datasets: the built-in ones shipped as small CSV files, and the loader.

Only the standard library and numpy are imported here (the engine's rule).
"""
from .loader import (
    BUILTIN_DIR,
    MAX_BYTES,
    MAX_ROWS,
    Dataset,
    DataError,
    TryLine,
    builtin_names,
    check_points,
    csv_columns,
    file_path,
    file_reference,
    is_file_reference,
    load_builtin,
    load_csv,
    load_dataset,
    try_line,
)

__all__ = ["BUILTIN_DIR", "MAX_BYTES", "MAX_ROWS", "Dataset", "DataError", "builtin_names", "check_points",
           "csv_columns", "file_path", "file_reference", "is_file_reference", "load_builtin", "load_csv",
           "load_dataset", "TryLine", "try_line"]
