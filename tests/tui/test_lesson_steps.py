"""The seven-step lesson: each step explains itself, sets up its preset, and says what to press."""
from __future__ import annotations

import pytest

from engine.lesson.presets import preset
from tui.lesson_steps import STEPS
from tui.screens.lesson import LessonScreen

from pilot_helpers import make_app, notifications


async def test_c_opens_the_lesson_at_step_one(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        assert "1. Collect data" in screen.text and "11 readings" in screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, LessonScreen)


async def test_next_previous_and_jump_by_number(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        screen = app.screen
        titles = []
        for _ in range(len(STEPS)):
            titles.append(screen.text.splitlines()[0])
            await pilot.press("right")
        assert titles == [f"{n}. {s.title}" for n, s in enumerate(STEPS, 1)]
        assert screen.step == 6  # stays on the last
        await pilot.press("left", "left")
        assert screen.step == 4
        await pilot.press("2")
        assert screen.step == 1 and "2. Visualise it" in screen.text


@pytest.mark.parametrize("number", range(1, len(STEPS) + 1))
async def test_enter_sets_the_step_up_and_says_what_to_press(number):
    app = make_app(pretrain=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c", str(number))
        step = STEPS[number - 1]
        assert step.keys in app.screen.text and preset(step.preset).title in app.screen.text
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, LessonScreen)
        s = app.runner.latest
        p = preset(step.preset)
        assert s.epoch == 0 and s.setup == p.setup and s.hyper == p.hyper
        assert any(f"Step {number}, {step.title}: {step.keys}" in n for n in notifications(app))
        await pilot.press("c")  # it comes back where it was
        assert app.screen.step == number - 1


async def test_step_five_then_z_diverges_at_epoch_eleven(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c", "5", "enter", "z", "N")  # the step's keys: z then train
        assert app.runner.latest.divergence.epoch == 11


async def test_step_sevens_p_7_opens_the_network_that_memorises(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c", "7", "enter", "p", "7")
        assert app.runner.latest.setup == preset("overfit").setup


async def test_kepler_lesson_opens_with_the_lesson():
    app = make_app()
    app.open_lesson = True
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)


def test_kepler_lesson_flag_reaches_the_app(monkeypatch):
    import sys
    import types

    from tui import cli

    calls = []
    fake = types.ModuleType("tui.app")
    fake.run_app = lambda **kwargs: calls.append(kwargs) or 0
    monkeypatch.setitem(sys.modules, "tui.app", fake)
    assert cli.main(["--lesson"]) == 0 and calls[-1]["open_lesson"] is True
    assert cli.main([]) == 0 and calls[-1]["open_lesson"] is False
