"""Kepler's datasets: the built-in ones shipped as small CSV files, and the loader.

Only the standard library and numpy are imported here (the engine's rule).
"""
from .loader import BUILTIN_DIR, Dataset, DataError, builtin_names, load_builtin, load_csv

__all__ = ["BUILTIN_DIR", "Dataset", "DataError", "builtin_names", "load_builtin", "load_csv"]
