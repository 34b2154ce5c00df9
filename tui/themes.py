"""Kepler's three themes, and the one place where code asks a theme for a colour.

- `dark`: the look Kepler always had (Textual's own dark theme, colour for colour).
- `light`: dark text on an off-white background, for a lit room.
- `high-contrast`: black on pure white with saturated series colours, for a washed-out
  projector: every text colour at least 4.5:1 against its background (WCAG AA), the
  curves dark enough to survive a projector's grey, and train, validation and pinned runs
  told apart by hue and by mark (blue line, orange blocks, grey dots).

Besides Textual's colours (`$primary`, `$warning`, ...) each theme names what the plots
draw, as theme variables `$kepler-train`, `$kepler-val`, ...: the stylesheet and markup use
them as `$kepler-ROLE`, Python code as `plot_colour(app, ROLE)`. A theme that lacks them
(one of Textual's own, set by hand) gets the dark theme's (`variable_defaults`).
"""
from __future__ import annotations

from dataclasses import replace

from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

DEFAULT_THEME = "dark"

# What each plot colour is for (the variable is `kepler-` + the role).
ROLES = {
    "train": "the training loss, and the training points of the fit",
    "val": "the validation loss and points",
    "model": "the model's curve over the data",
    "best": "the best validation epoch's marker",
    "diverged": "the epoch where the loss stopped being a number",
    "pinned": "pinned earlier runs (ghosts)",
    "selected": "the point the point editor has selected",
}

# The dark theme's values are the colours the widgets drew before themes existed.
_DARK_PLOTS = {"train": "#0178D4", "val": "#FEA62B", "model": "#4EBF71", "best": "#4EBF71",
               "diverged": "#B93C5B", "pinned": "#787878", "selected": "#B93C5B"}
_DARK = {**{f"kepler-{role}": colour for role, colour in _DARK_PLOTS.items()},
         "kepler-panel-line": "#0178D4 60%", "kepler-muted": "auto 60%"}

THEMES: dict[str, Theme] = {
    "dark": replace(BUILTIN_THEMES["textual-dark"], name="dark", variables={
        **BUILTIN_THEMES["textual-dark"].variables, **_DARK}),
    "light": Theme(
        name="light", dark=False,
        primary="#0B5CAD", secondary="#2F5A86", accent="#9A4A00", warning="#8A5A00", error="#B3261E",
        success="#1E7B34", foreground="#1F1F1F", background="#F7F7F7", surface="#ECECEC", panel="#DDE4EC",
        variables={
            "kepler-train": "#0B5CAD", "kepler-val": "#B34700", "kepler-model": "#1E7B34", "kepler-best": "#1E7B34",
            "kepler-diverged": "#B3261E", "kepler-pinned": "#6B6B6B", "kepler-selected": "#B3261E",
            "kepler-panel-line": "#0B5CAD 75%", "kepler-muted": "#595959",
            "footer-key-foreground": "#0B5CAD",
            # A picked row in a list: dark text on a light tint, so its grey note stays readable.
            "block-cursor-background": "#C5D9F0", "block-cursor-foreground": "#000000",
            "block-cursor-blurred-background": "#DDE4EC", "block-cursor-blurred-foreground": "#000000",
        }),
    "high-contrast": Theme(
        name="high-contrast", dark=False, luminosity_spread=0.0, text_alpha=1.0,
        primary="#0033CC", secondary="#1F1F1F", accent="#0033CC", warning="#7A4D00", error="#C00000",
        success="#006B2B", foreground="#000000", background="#FFFFFF", surface="#FFFFFF", panel="#E8E8E8",
        boost="#00000014",
        variables={
            "kepler-train": "#0033CC", "kepler-val": "#B34700", "kepler-model": "#006B2B", "kepler-best": "#006B2B",
            "kepler-diverged": "#C00000", "kepler-pinned": "#595959", "kepler-selected": "#C00000",
            "kepler-panel-line": "#000000", "kepler-muted": "#333333",
            "footer-key-foreground": "#0033CC",
            "block-cursor-background": "#C9D6FF", "block-cursor-foreground": "#000000",
            "block-cursor-blurred-background": "#E8E8E8", "block-cursor-blurred-foreground": "#000000",
        }),
}


DESCRIPTIONS = {
    "dark": "light text on a dark background (Kepler's usual look)",
    "light": "dark text on a light background, for a lit room",
    "high-contrast": "black on white, strong colours: for a washed-out projector",
}


# Rich styles chosen in code: a note under a list entry, the gradient check's verdicts.
# Dark keeps what it always had; Rich's "dim" blends to 50% grey, below 4.5:1 even for
# black on white, so the light themes name their greys.
TEXT_STYLES = {
    "dark": {"note": "dim", "good": "green", "fair": "yellow", "bad": "red bold"},
    "light": {"note": "#4D4D4D", "good": "#1E7B34", "fair": "#8A5A00", "bad": "bold #B3261E"},
    "high-contrast": {"note": "#333333", "good": "#006B2B", "fair": "#7A4D00", "bad": "bold #C00000"},
}


def text_style(app, role: str) -> str:
    """A Rich style string for `role` (note, good, fair, bad) in the current theme."""
    return TEXT_STYLES.get(app.theme, TEXT_STYLES["dark"])[role]


# Python code (the code view): Rich's syntax theme for each of ours.
SYNTAX_THEMES = {"dark": "ansi_dark", "light": "vs", "high-contrast": "bw"}


def syntax_theme(app) -> str:
    return SYNTAX_THEMES.get(app.theme, "ansi_dark" if app.current_theme.dark else "ansi_light")


def theme_names() -> list[str]:
    return list(THEMES)


def variable_defaults() -> dict[str, str]:
    """Kepler's theme variables, for a theme that does not set them (the dark look)."""
    return dict(_DARK)


def plot_colour(app, role: str, fallback: tuple[int, int, int] = (200, 200, 200)) -> tuple[int, int, int]:
    """The current theme's colour for a plot `role` (see ROLES), as (r, g, b); any other
    name is read as one of Textual's theme variables ("primary", "warning", ...).

    Under NO_COLOR or on a 16-colour terminal Textual maps it down or removes it, so a
    series must also differ by its mark."""
    if role in _DARK_PLOTS:
        value, fallback = app.theme_variables.get(f"kepler-{role}"), Color.parse(_DARK_PLOTS[role]).rgb
    else:
        value = app.theme_variables.get(role)
    try:
        return Color.parse(value).rgb if value else fallback
    except Exception:  # "auto 60%" and the like: not one colour
        return fallback


def markup(role: str) -> str:
    """The role's colour in Textual markup: f"[{markup('train')}]⠒⠒[/]"."""
    return f"$kepler-{role}"


# ---------------------------------------------------------------------- contrast (WCAG 2.x)
def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG's contrast ratio, 1 (none) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
