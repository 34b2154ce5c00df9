"""Served mode: the open-data list shows the built-ins' suggested setups too, and `t` starts
one; a teacher's file suggests nothing, and `t` on it changes nothing."""
from __future__ import annotations

from textual.widgets import OptionList, Static

from engine.lesson.suggested import suggestion
from tui.screens.file_dialogs import DatasetPicker

from test_serve_workspace import listed, server_files, served_app  # noqa: F401 (a fixture)

SIZE = (100, 30)


async def test_a_student_picks_overfit_with_its_suggested_setup(server_files):
    state, folder, data = server_files
    app = served_app(folder, data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N", "ctrl+o")
        assert isinstance(app.screen, DatasetPicker)
        options = app.screen.query_one(OptionList)
        options.highlighted = listed(app).index("springs.csv")
        await pilot.pause()
        assert "springs.csv: no suggested setup" in str(app.screen.query_one("#datasets-try", Static).render())
        await pilot.press("t")
        assert isinstance(app.screen, DatasetPicker) and app.runner.latest.epoch == 100  # nothing changed
        options.highlighted = listed(app).index("overfit")
        await pilot.pause()
        await pilot.press("t")
        tried = suggestion("overfit")
        s = app.runner.latest
        assert (s.setup, s.hyper, s.epoch) == (tried.setup, tried.hyper, 0)
