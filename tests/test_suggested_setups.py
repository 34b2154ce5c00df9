"""Each built-in dataset's `# Try:` line read into a runnable setup, and every way a damaged
line is refused: one line naming the file and the line."""
from __future__ import annotations

import shutil

import pytest

import data
from engine.lesson.suggested import suggestion
from engine.training.trainer import SettingError
from engine.training.setup_string import parse_setup_string


def test_every_built_in_but_the_books_suggests_a_setup_that_names_itself():
    suggesting = {name: suggestion(name) for name in data.builtin_names()}
    assert suggesting.pop("thermometer") is None  # the chapter's data: the presets are its setups
    assert sorted(suggesting) == ["curve", "noisy_line", "outlier", "overfit"]
    for name, tried in suggesting.items():
        assert tried.setup.dataset == name
        assert tried.command("train") == f"kepler train --setup '{tried.setup_string}'"


def test_the_overfit_suggestion_is_the_polynomial_with_a_split():
    tried = suggestion("overfit")
    assert tried.setup_string == "data=overfit,model=poly:7,scale=std,val=0.3,opt=adam,lr=0.05,epochs=3000"
    assert (tried.setup.model, tried.setup.input_transform, tried.setup.val_fraction) == ("poly:7", "standardize", 0.3)
    assert (tried.hyper.optimizer, tried.hyper.learning_rate, tried.hyper.epochs) == ("adam", 0.05, 3000)
    assert (tried.setup, tried.hyper) == parse_setup_string(tried.setup_string)
    assert tried.then is None and tried.text == tried.setup_string


def test_the_curve_suggests_a_next_step():
    tried = suggestion("curve")
    assert tried.setup.model == "linear" and tried.then == "model=poly:2"
    assert tried.text == "data=curve,scale=std,lr=0.1, then model=poly:2"


def test_a_users_file_or_an_unknown_name_suggests_nothing():
    assert suggestion("csv:/tmp/mine.csv") is None and suggestion("nope") is None


def damaged_builtins(tmp_path, monkeypatch, name: str, try_line: str | None):
    """A copy of the built-in datasets with `name`'s Try line replaced (None: removed)."""
    folder = tmp_path / "datasets"
    shutil.copytree(data.loader.BUILTIN_DIR, folder)
    path = folder / f"{name}.csv"
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("# Try:"))
    if try_line is None:
        del lines[index]
    else:
        lines[index] = try_line
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(data.loader, "BUILTIN_DIR", folder)
    return folder


@pytest.mark.parametrize("line, wanted", [
    ("# Try: kepler --setup data=overfit,model=poly:7", "should read kepler --setup 'KEY=VALUE,...'"),
    ("# Try: kepler --setup 'data=overfit,modl=poly:7'", "Try line: setup string: unknown key 'modl'"),
    ("# Try: kepler --setup 'data=overfit,lr=fast'", "Try line: setup string: lr='fast' is not a number"),
    ("# Try: kepler --setup 'data=curve,model=poly:7'", "should say data=overfit (it says data=curve)"),
    ("# Try: kepler --setup 'model=poly:7,val=0.3'", "should say data=overfit (it says no data=)"),
    ("# Try: kepler --setup 'data=overfit' then modle=poly:3", "Try line, after 'then': setup string: unknown key 'modle'"),
    ("# Try: kepler --setup 'data=overfit,val=1.5'", "val=1.5"),
])
def test_a_damaged_try_line_is_one_line_naming_the_file_and_line(tmp_path, monkeypatch, line, wanted):
    damaged_builtins(tmp_path, monkeypatch, "overfit", line)
    with pytest.raises(SettingError) as caught:
        suggestion("overfit")
    message = str(caught.value)
    assert message.startswith("overfit.csv, line 2: ") and wanted in message and "\n" not in message
    assert suggestion("curve").setup.dataset == "curve"  # the others are unaffected


def test_a_file_without_a_try_line_suggests_nothing(tmp_path, monkeypatch):
    damaged_builtins(tmp_path, monkeypatch, "outlier", None)
    assert suggestion("outlier") is None
    assert data.load_builtin("outlier").description.startswith("A line with one outlier")


def test_a_try_line_below_the_data_does_not_count(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("# about\nx,y\n1,2\n# Try: kepler --setup 'lr=1'\n3,4\n")
    assert data.try_line(path) is None
    path.write_text("# about\n\n#Try:   kepler --setup 'lr=1'  \nx,y\n1,2\n3,4\n")
    line = data.try_line(path)
    assert line == data.TryLine("kepler --setup 'lr=1'", "late.csv, line 3")
