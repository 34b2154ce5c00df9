"""How numbers look on screen: short, aligned, and honest about inf and NaN.

A teaching screen shows the same quantity many times a second, so every formatter here
returns a fixed-width-friendly string and never raises, whatever the value.
"""
from __future__ import annotations

import math


def number(value: float | None, digits: int = 4) -> str:
    """A parameter or loss: fixed decimals in the everyday range, scientific outside it."""
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(value)
    if magnitude == 0:
        return f"{0:.{digits}f}"
    if 1e-3 <= magnitude < 1e5:
        # Fewer decimals as the integer part grows, so the width stays about the same.
        decimals = digits if magnitude < 100 else max(0, digits - (int(math.log10(magnitude)) - 1))
        return f"{value:.{decimals}f}"
    return f"{value:.{max(1, digits - 2)}e}"


def signed(value: float | None) -> str:
    """A gradient or a step: always scientific with a sign, so their sizes compare at a glance."""
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    if value == 0:
        return " 0"
    return f"{value:+.2e}"


def rate(value: float) -> str:
    """A learning rate or another hyperparameter, the way a person would type it."""
    return f"{value:g}"


def count(value: int | None) -> str:
    """An epoch or a step count, with thousands separators."""
    return "—" if value is None else f"{int(value):,}"


def speed(epochs_per_second: float | None) -> str:
    if epochs_per_second is None:
        return "max"
    return f"{epochs_per_second:,.0f}/s" if epochs_per_second >= 1 else f"{epochs_per_second:g}/s"


def loss(value: float | None) -> str:
    """A loss value: four significant-ish decimals, inf and NaN spelled out."""
    return number(value, digits=4)


def compact(value: float) -> str:
    """A tick label: as few characters as will tell two ticks apart."""
    value = float(value)
    if not math.isfinite(value):
        return number(value)
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if 1e-2 <= magnitude < 1e4:
        return f"{value:.4g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def short(value: float) -> str:
    """At most 7 characters, for norms in a narrow table: 39.13, 0.01234, 1.2e-05."""
    value = float(value)
    if not math.isfinite(value):
        return number(value)
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if 0.01 <= magnitude < 1e4:
        return f"{value:.4g}"
    return f"{value:.1e}"


def first_fitting(forms, width: int) -> str:
    """The first (longest) of several ways to say a thing that fits in `width` cells, else
    the last (shortest): a shorter sentence, not a sentence cut in half."""
    forms = list(forms)
    return next((form for form in forms if len(form) <= width), forms[-1])


def signed_short(value: float) -> str:
    """A difference in at most 8 characters: +179, -0.0123, +1.2e+03."""
    value = float(value)
    if not math.isfinite(value):
        return signed(value)
    return ("+" if value >= 0 else "-") + short(abs(value))


LONG_FIXED = 1e8  # from here on fixed decimals grow past 15 characters: -257731830590172725248.0000


def text(value: float, decimals: int = 4) -> str:
    """A number in a line of printed text (headless output): fixed decimals, as the book
    prints them (`Loss 1763.884644`, `w 5.3671`), while that stays short; the same number of
    digits in scientific form for huge magnitudes (`w -2.5773e+20`); inf and nan as Python
    spells them."""
    value = float(value)
    if math.isfinite(value) and abs(value) >= LONG_FIXED:
        return f"{value:.{decimals}e}"
    return f"{value:.{decimals}f}"
