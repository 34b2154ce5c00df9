"""Write the generated built-in datasets into data/datasets/ (run once; the files are shipped).

    python -m data.generate_datasets [OUTPUT_FOLDER]

Each dataset comes from its own seeded numpy generator, so running this again writes the
same bytes (a test checks it). The thermometer readings are not generated: they are the
book's, typed in. Each file opens with a `#` line saying what it teaches; the numbers in
those lines (best-line losses, slopes) are computed here from the very points written, so
they stay true.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).parent / "datasets"


def _best_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares (w, b) and the mean squared error they leave: where gradient descent
    on a line ends up, so a comment can say where the loss will stop."""
    w, b = np.polyfit(x, y, 1)
    mse = float(np.mean((w * x + b - y) ** 2))
    return float(w), float(b), mse


def noisy_line() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240501)
    x = np.sort(rng.uniform(0.0, 10.0, 30)).round(2)
    y = (2.0 * x + 1.0 + rng.normal(0.0, 1.5, x.size)).round(2)
    w, b, mse = _best_line(x, y)
    return [
        f"# A noisy line: 30 points scattered around y = 2x + 1. Teaches: a line is the right model, yet the "
        f"loss stops near the noise (best line w = {w:.2f}, b = {b:.2f}, loss {mse:.2f}), never at 0.",
        "# Try: kepler --setup 'data=noisy_line,scale=std,lr=0.1'",
    ], x, y


def curve() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240502)
    x = np.linspace(-3.0, 3.0, 25).round(2)
    y = (x**2 - 2.0 + rng.normal(0.0, 0.3, x.size)).round(2)
    _, _, mse = _best_line(x, y)
    return [
        f"# A curve a line cannot fit: 25 points on y = x^2 - 2. Teaches: underfitting; the best line still "
        f"leaves a loss of {mse:.2f}, while model=poly:2 or mlp:8 bends to the points.",
        "# Try: kepler --setup 'data=curve,scale=std,lr=0.1' then model=poly:2",
    ], x, y


def overfit() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0.0, 6.0, 12)).round(2)
    y = (2.0 * np.sin(x) + 0.5 * x + rng.normal(0.0, 0.6, x.size)).round(2)
    return [
        "# A few noisy points (12) from a smooth wave. Teaches: overfitting; with a validation split a "
        "7th-degree polynomial drives the training loss down while the validation loss climbs.",
        "# Try: kepler --setup 'data=overfit,model=poly:7,scale=std,val=0.3,opt=adam,lr=0.05,epochs=3000'",
    ], x, y


def outlier() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240504)
    x = np.linspace(0.0, 7.0, 15).round(2)
    y = (3.0 * x - 2.0 + rng.normal(0.0, 0.4, x.size)).round(2)
    clean_w, clean_b, _ = _best_line(x, y)
    bad = 12  # one reading near the right end, mistyped far too high
    y[bad] = round(float(y[bad]) + 30.0, 2)
    w, b, _ = _best_line(x, y)
    return [
        f"# A line with one outlier: 15 points on y = 3x - 2, one of them (x = {x[bad]:g}) 30 too high. "
        f"Teaches: squared error chases a single bad point; the best line is w = {w:.2f}, b = {b:.2f} with it, "
        f"w = {clean_w:.2f}, b = {clean_b:.2f} without it.",
        "# Try: kepler --setup 'data=outlier,scale=std,lr=0.1'",
    ], x, y


DATASETS = {"noisy_line": noisy_line, "curve": curve, "overfit": overfit, "outlier": outlier}


def _number(value: float) -> str:
    return f"{float(value) + 0.0:.2f}"  # + 0.0: no "-0.00"


def render(name: str) -> str:
    comments, x, y = DATASETS[name]()
    lines = [*comments, "x,y", *(f"{_number(a)},{_number(b)}" for a, b in zip(x, y))]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUTPUT
    out.mkdir(parents=True, exist_ok=True)
    for name in DATASETS:
        (out / f"{name}.csv").write_text(render(name), encoding="utf-8", newline="\n")
        print(f"wrote {out / name}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
