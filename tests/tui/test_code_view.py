"""The code view (C): the PyTorch file for the current settings, copied and saved."""
from __future__ import annotations

from engine.lesson.code import python_code
from engine.training.trainer import Hyperparameters, Setup
from tui.screens.code_view import CodeScreen

from pilot_helpers import burst, make_app


async def test_C_shows_the_code_for_the_current_settings_copies_and_closes(tmp_path, monkeypatch):
    app = make_app(Setup(input_transform="scale", model="mlp:8"), Hyperparameters(optimizer="adam", learning_rate=0.02))
    copied = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("C")
        screen = app.screen
        assert isinstance(screen, CodeScreen)
        s = app.snapshot
        assert screen.code == python_code(s.setup, s.hyper, s.dataset)
        assert "torch.nn.Linear(1, 8)" in screen.code and "torch.optim.Adam(params, lr=0.02" in screen.code
        await pilot.press("pagedown", "pagedown")
        assert screen.query_one("#code-scroll").scroll_y > 0  # it scrolls at 80x24
        await pilot.press("y")
        assert copied == [screen.code]
        await pilot.press("escape")
        assert not isinstance(app.screen, CodeScreen)


async def test_the_code_follows_a_changed_setting():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o", "o", "C")  # SGD with momentum 0.9 -> Adam
        assert "torch.optim.Adam([params]" in app.screen.code


async def test_s_saves_the_file_where_typed(tmp_path):
    app = make_app()
    target = tmp_path / "run.py"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("C", "s")
        app.screen.query_one("Input").value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text(encoding="utf-8").startswith('"""Kepler\'s run as PyTorch code:')
        assert isinstance(app.screen, CodeScreen)  # back to the code


async def test_a_burst_of_keys_is_safe():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("C", "escape", "escape", "C", "q", "escape", "C", "C", "C")  # C also closes it
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen) and len(app.screen_stack) == 2  # one code view, over the trainer
        await pilot.press("escape", "escape")
        assert app.screen is app.trainer_screen


async def test_the_palette_has_a_code_entry():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        command = next(c for c in app.get_system_commands(app.screen) if "code" in c.title.lower())
        assert command.title.endswith("(C)")
        result = command.callback()
        if result is not None:  # run_action is a coroutine
            await result
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen)


def test_the_code_view_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=10), terminal_size=(80, 24), press=["C"])


async def test_a_burst_of_downs_scrolls_a_line_each():
    """Twenty Downs in one read (a held key over SSH) scroll twenty lines, not one (the
    smooth-scroll animation used to swallow the keys that came while it moved)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("C")
        await burst(pilot, *["down"] * 20)
        assert app.screen.query_one("#code-scroll").scroll_y == 20
        await burst(pilot, "home")
        assert app.screen.query_one("#code-scroll").scroll_y == 0
