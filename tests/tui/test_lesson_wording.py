"""The seven steps name what is on screen and quote only numbers the screen shows: each
step is set up and run to its end (and, for step 5, on to the divergence its keys point
to), then every panel it names and every number it quotes is looked for on the screen."""
from __future__ import annotations

import re

import pytest
from textual.content import Content

from engine.lesson.presets import preset
from tui.lesson_steps import STEPS

from pilot_helpers import make_app, show_latest

PANEL = re.compile(r"the ([A-Z][\w/]*) panel")
DECIMAL = re.compile(r"-?\d[\d,]*\.\d{2,}")  # 1763.88, -17.3012: a number read off a screen
TIMES = re.compile(r"(\d+) times")  # the gradient ratio, shown as 57×
EPOCH = re.compile(r"inf at epoch (\d+)")


def screen_text(app) -> str:
    """Every panel's title and subtitle and what it shows, as plain text."""
    parts = []
    for widget in app.trainer_screen.query("*"):
        if not widget.display:
            continue
        for title in (widget.border_title, widget.border_subtitle):
            if title:
                parts.append(Content.from_markup(str(title)).plain)
        text = getattr(widget, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)


def panel_titles(app) -> set[str]:
    return {Content.from_markup(str(w.border_title)).plain.split()[0]
            for w in app.trainer_screen.query("*") if w.display and w.border_title}


async def run_step(pilot, number: int) -> None:
    app = pilot.app
    await pilot.press("c", str(number), "enter")
    app.controller.step(preset(STEPS[number - 1].preset).hyper.epochs)  # space, to the end of its budget
    await show_latest(pilot)


@pytest.mark.parametrize("number", range(1, len(STEPS) + 1))
async def test_each_step_names_panels_on_screen_and_quotes_its_numbers(number):
    step = STEPS[number - 1]
    words = f"{step.explanation} {step.keys}"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await run_step(pilot, number)
        shown, titles = screen_text(app), panel_titles(app)
        if "z then space" in step.keys:  # the raw readings at the same rate: the divergence
            await pilot.press("z")
            app.controller.step(100)
            await show_latest(pilot)
            shown, titles = shown + "\n" + screen_text(app), titles | panel_titles(app)
        for panel in PANEL.findall(words):
            assert panel in titles, f"step {number} names the {panel} panel; the screen has {sorted(titles)}"
        for number_text in DECIMAL.findall(words):
            assert number_text in shown or number_text.lstrip("-") in shown, f"step {number} quotes {number_text}"
        for ratio in TIMES.findall(words):
            assert f"{ratio}×" in shown, f"step {number} says {ratio} times"
        for epoch in EPOCH.findall(words):
            assert f"inf at epoch {epoch}" in shown


def test_the_steps_quote_numbers_and_name_panels():
    # the check above has something to check: panels and numbers are quoted
    words = " ".join(f"{s.explanation} {s.keys}" for s in STEPS)
    assert {"Fit", "Train/val", "Parameters", "Diverged"} <= set(PANEL.findall(words))
    assert len(DECIMAL.findall(words)) >= 6 and TIMES.findall(words) == ["57"]


def test_step_seven_is_the_books_disbelief_at_a_model_that_worked():
    last = STEPS[-1]
    assert last.title == "Look back in disbelief"
    assert "worked" in last.explanation and "diverg" not in last.explanation.lower()
