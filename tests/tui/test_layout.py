"""Any terminal: 80x24 shows what matters, bigger ones use the room, too small says so; the
help screen and the command palette list every key; ASCII plots and NO_COLOR work."""
from __future__ import annotations

from textual.widgets import Static

from tui.app import KeplerApp
from tui.screens.help import HelpScreen
from tui.widgets.fit_plot import FitPlot
from tui.widgets.hyper_panel import HyperPanel
from tui.widgets.loss_plot import LossPlot
from tui.widgets.param_table import ParamTable
from tui.widgets.status_bar import StatusBar

from pilot_helpers import make_app

MAIN_WIDGETS = (StatusBar, LossPlot, ParamTable, HyperPanel)


def visible(app, widget_type) -> bool:
    widget = app.query_one(widget_type)
    region = widget.region
    return widget.display and region.width > 0 and region.height > 0 and app.screen.region.contains_region(region)


async def test_80x24_shows_loss_parameters_status_and_keys(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        for widget_type in MAIN_WIDGETS:
            assert visible(app, widget_type), widget_type.__name__
        assert app.query_one(LossPlot).size.height >= 8 and app.query_one(LossPlot).size.width >= 40
        assert "learning rate 0.01" in app.query_one(HyperPanel).text
        assert "w" in app.query_one(ParamTable).text and "b" in app.query_one(ParamTable).text
        footer = app.screen.query_one("Footer")
        assert footer.region.y == 23


async def test_bigger_terminals_give_the_plots_the_room():
    sizes = {}
    for size in ((80, 24), (120, 40), (200, 50)):
        app = make_app(pretrain=50)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            fit = app.query_one(FitPlot)
            sizes[size] = (fit.size.area if visible(app, FitPlot) else 0, app.query_one(LossPlot).size.area)
            assert "t_c = 0." in fit.text  # the model as a formula, in raw units
    assert sizes[(80, 24)][0] < sizes[(120, 40)][0] < sizes[(200, 50)][0]
    assert sizes[(80, 24)][1] < sizes[(120, 40)][1] < sizes[(200, 50)][1]


async def test_too_small_says_how_big_and_resizing_back_restores(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.resize_terminal(50, 15)
        await pilot.pause()
        notice = app.screen.query_one("#too-small", Static)
        assert notice.display and not app.query_one("#main").display
        assert "at least 70×20; this one is 50×15" in str(notice.render())
        await pilot.press("n")  # keys still work, nothing breaks while hidden
        await pilot.resize_terminal(69, 30)
        await pilot.pause()
        assert notice.display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not notice.display
        for widget_type in MAIN_WIDGETS:
            assert visible(app, widget_type), widget_type.__name__
        assert app.runner.latest.epoch == 1
        assert "epoch 1/5,000" in app.query_one(StatusBar).text
        for size in ((200, 50), (30, 8), (120, 40), (70, 20)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert app.query_one(LossPlot).text  # drawn again at the last size


async def test_question_mark_lists_every_key(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = {keys for _, rows in help_screen.sections for keys, _ in rows}
        for binding in KeplerApp.BINDINGS:
            from tui.app import key_label
            assert key_label(binding.key) in listed, binding.key
        assert {"↑ ↓", "enter"} <= listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_action_is_in_the_command_palette(app):
    async with app.run_test(size=(80, 24)):
        commands = {c.title for c in app.get_system_commands(app.screen)}
        for binding in KeplerApp.BINDINGS:
            if binding.action != "quit":  # Textual's own palette already has Quit
                assert any(title.endswith(f"({__import__('tui.app').app.key_label(binding.key)})") for title in commands), binding.key
        assert "Type a value: learning rate" in commands


async def test_ascii_plots_have_no_braille_or_box_drawing():
    app = make_app(pretrain=200, ascii_plots=True)
    async with app.run_test(size=(80, 24)):
        for plot in (app.query_one(LossPlot), app.query_one(FitPlot)):
            text = plot.text
            assert text and all(ord(ch) < 128 for ch in text), text
            assert "*" in text or "." in text


async def test_no_color_runs_and_plots_keep_distinct_marks(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(pretrain=50)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        assert app.no_color
        fit = app.query_one(FitPlot).text
        assert "●" in fit and "×" in fit  # training and validation points differ by shape


class FakeTime:
    """The trainer screen's clock and timers, on simulated time that only the test moves: a
    frame the screen puts off until later is drawn when the test reaches that moment."""

    class Timer:
        def __init__(self, due, callback):
            self.due, self.callback, self.stopped = due, callback, False

        def stop(self):
            self.stopped = True

    def __init__(self, screen):
        self.now = 1000.0
        self.timers = []
        screen.clock = lambda: self.now
        screen.set_timer = self.set_timer

    def set_timer(self, delay, callback, *args, **kwargs):
        timer = self.Timer(self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def run_until(self, t):
        while due := sorted((x for x in self.timers if not x.stopped and x.due <= t), key=lambda x: x.due):
            timer = due[0]
            timer.stop()
            self.now = timer.due
            timer.callback()
        self.now = t


async def frames_per_second(app, seconds: int = 3, snapshots_per_second: int = 16) -> list[int]:
    """Feed the trainer screen snapshots as a fast worker would, on simulated time, and count
    the frames it draws in each simulated second."""
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.trainer_screen
        fake = FakeTime(screen)
        start, drawn_at = fake.now, []
        draw = screen.draw

        def timed_draw(snapshot):
            drawn_at.append(fake.now)
            draw(snapshot)

        screen.draw = timed_draw
        for i in range(seconds * snapshots_per_second):
            fake.run_until(start + i / snapshots_per_second)  # 1/16 s steps: exact in binary
            app.runner.trainer.train(1)
            app.snapshot_from_worker(app.runner.trainer.snapshot())
            await pilot.pause()
        fake.run_until(start + seconds + 1)  # a frame put off is drawn in the end, with the newest
        assert screen.snapshot.epoch == seconds * snapshots_per_second
        return [sum(1 for t in drawn_at if start + k <= t < start + k + 1) for k in range(seconds)]


async def test_low_bandwidth_draws_at_most_two_frames_a_second():
    assert await frames_per_second(make_app(low_bandwidth=True, fps=10)) == [2, 2, 2]


async def test_without_low_bandwidth_the_same_snapshots_draw_at_the_asked_rate():
    # The same 16 snapshots a second: 10 frames a second when 10 are asked for.
    assert await frames_per_second(make_app(fps=10)) == [10, 10, 10]


async def test_the_trainer_screen_keeps_updating_under_the_help_and_a_dialog(app):
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("question_mark", "enter"):
            await pilot.press(key)
            assert app.screen is not app.main_screen
            app.runner.trainer.train(5)  # as the worker would: a new snapshot arrives meanwhile
            app.snapshot_from_worker(app.runner.trainer.snapshot())
            await pilot.pause()
            app.trainer_screen.frame()
            assert f"epoch {app.runner.trainer.epoch}/" in app.main_screen.query_one(StatusBar).text
            await pilot.press("escape")


async def test_a_new_theme_recolours_the_plots():
    app = make_app(pretrain=50)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        plot = app.query_one(LossPlot)
        text, styles = plot.text, {seg.style for strip in plot._strips for seg in strip}
        app.theme = "textual-light"
        await pilot.pause()
        assert plot.text == text  # same plot...
        assert {seg.style for strip in plot._strips for seg in strip} != styles  # ...in the new colours
