"""What the app says has a place of its own: the message line above the keys shows the
newest message in whole words, `M` lists every message in full, and no toast ever covers
a panel or a dialog."""
from __future__ import annotations

from textual.widgets._toast import Toast

from engine.lesson.presets import preset
from tui.screens.messages import MessagesScreen
from tui.screens.point_editor import PointEditor
from tui.widgets.message_bar import MessageBar
from tui.widgets.overfit_panel import OverfitPanel

from pilot_helpers import burst, make_app, notifications, show_latest


def toasts(app) -> list:
    return [toast for screen in app.screen_stack for toast in screen.query(Toast)]


def overlaps(a, b) -> bool:
    return bool(a.region.intersection(b.region).area)


async def test_a_presets_story_sits_on_the_message_line_not_on_the_train_val_panel():
    app = make_app()
    story = preset("overfit").story
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p", "end", "enter")
        await pilot.pause()
        assert app.snapshot.setup.model == "mlp:24"
        assert toasts(app) == []
        bar = app.trainer_screen.query_one("#message-bar", MessageBar)
        panel = app.trainer_screen.query_one(OverfitPanel)
        assert not overlaps(bar, panel)
        shown = bar.shown
        # As many whole words of the story as fit, and where the rest is.
        title = preset("overfit").title  # the message names the preset it started
        assert shown.startswith(f"· {title}: A 1-24-1") and shown.endswith("… (M)")
        assert len(shown) <= 80 and shown[2:-len("… (M)")].strip() in f"{title}: {story}"
        await pilot.press("M")
        assert isinstance(app.screen, MessagesScreen)
        assert story in " ".join(app.screen.text.split())  # the whole story, on demand
        await pilot.press("escape")
        assert app.screen is app.trainer_screen


async def test_every_edit_in_the_point_editor_is_logged_without_a_toast():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, PointEditor)
        await pilot.press("up", "up", "down")
        assert sum("edited points: the run starts over" in m for m in notifications(app)) == 3
        assert toasts(app) == []


async def test_messages_said_over_a_dialog_do_not_cover_it():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")  # the gradient check
        app.notify("said while the dialog is open", title="Test")
        await pilot.pause()
        assert toasts(app) == [] and notifications(app)[-1] == "said while the dialog is open"
        await pilot.press("escape", "c")  # the lesson
        app.notify("[b]markup[/b] is read as words", severity="warning")
        await pilot.pause()
        assert toasts(app) == [] and notifications(app)[-1] == "markup is read as words"
        await pilot.press("escape")
        assert app.trainer_screen.query_one(MessageBar).shown == "⚠ markup is read as words"


async def test_a_key_with_nothing_to_say_dims_the_last_message_but_keeps_it():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        bar = app.trainer_screen.query_one(MessageBar)
        assert "Back to epoch 0" in bar.shown and not bar.faded
        await pilot.press("n")
        assert "Back to epoch 0" in bar.shown and bar.faded


async def test_the_message_screen_survives_a_burst():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await burst(pilot, "M", "escape", "escape", "M", "M")
        assert app.is_running
        while app.screen is not app.trainer_screen:
            await pilot.press("escape")


def test_fit_words_keeps_whole_words_and_says_where_the_rest_is():
    from tui.message_log import fit_words

    text = "Feeding 0.1 * t_u balances the two gradients"
    assert fit_words(text, len(text)) == text  # exactly fits: all of it, no hint
    assert fit_words(text, len(text) - 1, " … (M)") == "Feeding 0.1 * t_u balances the two … (M)"
    assert fit_words("one, two three", 9, " …") == "one …"  # no dangling comma before the hint
    for width in range(8, len(text)):
        shown = fit_words(text, width, " …")
        assert len(shown) <= width and text.startswith(shown[:-2])
        assert shown[:-2].split() == text.split()[:len(shown[:-2].split())]  # whole words only


def test_the_log_keeps_the_newest_and_numbers_every_message():
    from tui.message_log import MessageLog

    log = MessageLog(limit=3)
    for n in range(5):
        log.add(f"message  {n}\n", "Title", "warning" if n == 4 else "information")
    assert [m.number for m in log] == [3, 4, 5] and log.count == 5
    assert log.latest.text == "message 4" and log.latest.mark == "⚠"  # whitespace folded, shape for severity
    assert [m.number for m in log.since(4)] == [5]


async def test_a_message_from_another_thread_reaches_the_log():
    import threading

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        worker = threading.Thread(target=lambda: app.notify("from a worker", title="Thread"))
        worker.start()
        worker.join()
        await pilot.pause()
        assert notifications(app)[-1] == "from a worker" and toasts(app) == []
        assert "Thread: from a worker" in app.trainer_screen.query_one(MessageBar).shown


async def test_steering_changes_and_a_divergence_are_said_and_logged():
    """Each key that steers the run says what it did, old and new (the log once held only
    'Reset' after r + + space), and a divergence is logged once, when it happens."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("plus", "o", "b")
        said = notifications(app)
        assert said[-3:] == ["Learning rate 0.01 → 0.1 (the run goes on)",
                             "Optimizer SGD → SGD mom. 0.9 (the run goes on)",
                             "Epoch budget 5,000 → 20,000 (the run goes on)"]
        await pilot.press("z")  # raw readings at lr 0.1: inf within a few epochs
        app.controller.step(50)
        await show_latest(pilot)
        app.controller.step(50)  # nothing more happens: said once
        await show_latest(pilot)
        diverged = [m for m in notifications(app) if "training stopped" in m]
        assert len(diverged) == 1 and diverged[0].startswith(f"At epoch {app.snapshot.divergence.epoch:,} ")
        bar = app.trainer_screen.query_one("#message-bar", MessageBar)
        assert "training stopped" in bar.shown or "Diverged" in bar.shown


async def test_u_says_the_batch_size_it_set():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(pilot, "u", "u")
        assert notifications(app)[-2:] == ["Batch size full → 1 (the run goes on)",
                                           "Batch size 1 → 4 (the run goes on)"]
