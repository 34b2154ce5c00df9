"""Served mode: in an app that a server started for a student, no path the student types
reaches the file system. They open data from a list (built-ins and the teacher's
`--data-dir`), save and export into their own folder under names the app chooses, and load
only their own sessions. The attacks are the ones a class tried on the first served
version (ctrl+o, ctrl+s, ctrl+l, ctrl+e, ctrl+g and the setup string aimed at the server's
own files)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from engine.training.trainer import Hyperparameters, Setup, Trainer
from tui.app import KeplerApp
from tui.screens.file_dialogs import DatasetPicker, TextDialog
from tui.workspace import ServedWorkspace, WorkspaceError

SIZE = (100, 30)
SECRET = "host key: do not read me\n"


@pytest.fixture
def server_files(tmp_path):
    """A server's state directory (its secrets), a student's folder inside it, and the
    teacher's data folder (with a link that points out of it)."""
    state = tmp_path / "state"
    (state / "students" / "s1").mkdir(parents=True)
    (state / "ssh_host_ed25519_key").write_text(SECRET)
    (state / "class_password").write_text("scrypt$...")
    data = tmp_path / "data"
    data.mkdir()
    (data / "springs.csv").write_text("mass,length\n1,2.1\n2,3.9\n3,6.2\n4,8.0\n")
    (state / "grades.csv").write_text("student,grade\n1,12\n2,15\n3,9\n")  # a private file that reads as data
    (data / "escape.csv").symlink_to(state / "grades.csv")
    (data / ".hidden.csv").write_text("x,y\n1,2\n2,3\n3,4\n")
    return state, state / "students" / "s1", data


def served_app(folder: Path, data: Path | None) -> KeplerApp:
    app = KeplerApp(Trainer(Setup(input_transform="scale", input_scale=0.1),
                            Hyperparameters(learning_rate=1e-2, epochs=5000)), runner_threaded=False)
    app.workspace = ServedWorkspace(folder, data)
    return app


def notes(app) -> str:
    return "\n".join(said.text for said in app.message_log)


def listed(app) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


def untouched(state: Path) -> None:
    assert (state / "ssh_host_ed25519_key").read_text() == SECRET
    assert sorted(p.name for p in state.iterdir()) == ["class_password", "grades.csv", "ssh_host_ed25519_key",
                                                       "students"]


async def test_saves_and_exports_go_to_the_students_folder_under_names_the_app_chooses(server_files, monkeypatch,
                                                                                      tmp_path):
    state, folder, data = server_files
    monkeypatch.chdir(state)  # the server's working directory holds its secrets
    app = served_app(folder, data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        for key in ("ctrl+s", "ctrl+e", "ctrl+g"):
            await pilot.press(key)
            await pilot.pause()
            # no dialog to type a path into: the file is written at once
            assert not isinstance(app.screen, TextDialog), key
        await pilot.pause()
    names = sorted(p.name for p in folder.iterdir())
    assert [n.rsplit("-", 2)[0] for n in names] == ["kepler-history", "kepler-screen", "kepler-session"]
    assert all(os.stat(folder / n).st_mode & 0o077 == 0 for n in names)  # private to the server's user
    assert json.loads(next(folder.glob("kepler-session-*.json")).read_text())["format"] == "kepler-session"
    assert "(in your folder)" in notes(app) and str(folder) not in notes(app)
    untouched(state)


async def test_load_lists_only_the_students_own_sessions(server_files):
    state, folder, data = server_files
    other = state / "students" / "s2"
    other.mkdir()
    (other / "kepler-session-20260101-000000.json").write_text("{}")
    app = served_app(folder, data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        assert not isinstance(app.screen, (TextDialog, DatasetPicker))  # nothing of theirs yet
        assert "no saved sessions" in notes(app)
        await pilot.press("N", "ctrl+s")
        await pilot.press("m")  # another run
        assert app.runner.latest.setup.model == "poly:3"
        await pilot.press("ctrl+l")
        assert isinstance(app.screen, DatasetPicker)
        (saved,) = listed(app)
        assert saved.startswith("kepler-session-") and (folder / saved).is_file()
        await pilot.press("enter")
        assert app.runner.latest.setup.model == "linear" and app.runner.latest.epoch == 100


async def test_open_data_offers_the_builtins_and_the_teachers_files_and_nothing_else(server_files):
    state, folder, data = server_files
    app = served_app(folder, data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, DatasetPicker)  # a list, no path to type
        names = listed(app)
        assert names[0] == "springs.csv" and "thermometer" in names
        assert "escape.csv" not in names and ".hidden.csv" not in names  # a link out, a dot file
        app.screen.query_one(OptionList).highlighted = 0
        await pilot.press("enter")
        assert list(app.runner.trainer.dataset.y) == [2.1, 3.9, 6.2, 8.0]
    untouched(state)


@pytest.mark.parametrize("typed", ["data=grades.csv", "data=csv:{state}/grades.csv", "data={data}/escape.csv",
                                   "data={data}/../state/grades.csv", "data=csv:~/../../{state}/grades.csv"])
async def test_a_setup_string_cannot_name_a_file_outside_the_teachers_folder(server_files, typed, monkeypatch):
    state, folder, data = server_files
    monkeypatch.chdir(state)  # the server's working directory
    app = served_app(folder, data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S")
        app.screen.query_one(Input).value = "lr=0.01," + typed.format(state=state, data=data)
        await pilot.press("enter")
        assert isinstance(app.screen, TextDialog)  # refused, the dialog stays
        assert app.runner.latest.setup.dataset == "thermometer"
        # and a teacher's file by its full name is fine
        app.screen.query_one(Input).value = f"lr=0.01,data={data / 'springs.csv'}"
        await pilot.press("enter")
        assert not isinstance(app.screen, TextDialog)
        assert app.runner.latest.setup.dataset == str(data / "springs.csv")


async def test_the_setup_string_is_copied_to_the_students_clipboard(server_files):
    state, folder, data = server_files
    app = served_app(folder, data)
    async with app.run_test(size=SIZE) as pilot:
        app.action_show_setup_string()
        await pilot.pause()
        assert app.clipboard == app.controller.setup_string()


async def test_textuals_own_screenshot_command_is_not_offered_in_served_mode(server_files):
    state, folder, data = server_files
    app = served_app(folder, data)
    async with app.run_test(size=SIZE):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and "Quit" in titles


def test_the_workspace_refuses_names_that_are_not_in_its_lists(server_files):
    state, folder, data = server_files
    space = ServedWorkspace(folder, data)
    for name in ("../../ssh_host_ed25519_key", "/etc/passwd", "escape.csv", ".hidden.csv", "springs.csv/..", ""):
        with pytest.raises(WorkspaceError):
            space.data_path(name)
        with pytest.raises(WorkspaceError):
            space.session_path(name)
    (folder / "kepler-session-link.json").symlink_to(state / "ssh_host_ed25519_key")
    assert space.saved_sessions() == []  # a link in the folder is not a saved session
    assert space.data_path("springs.csv") == (data / "springs.csv").resolve()


def test_the_students_folder_has_a_quota(server_files):
    state, folder, data = server_files
    space = ServedWorkspace(folder, data, max_files=3, max_bytes=1000)
    space.save("history", "x" * 10)
    with pytest.raises(WorkspaceError, match="1 MB|0 MB"):
        space.save("session", "x" * 2000)
    space.save("history", "y")
    space.save("history", "z")
    with pytest.raises(WorkspaceError, match="3 files"):
        space.save("history", "w")
    assert len({p.name for p in folder.iterdir()}) == 3  # same second, three distinct names


def test_kepler_served_needs_a_workspace_and_hides_its_options():
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--served", "ssh"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "--served needs --workspace" in done.stderr
    shown = subprocess.run([sys.executable, "-m", "tui.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert "--served" not in shown.stdout and "--workspace" not in shown.stdout
