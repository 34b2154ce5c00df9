"""Layering, checked in fresh interpreters (this test process may already have imported
everything):

- the autograd library (`import engine as torch`) loads nothing of the training
  application (`engine.training`, `engine.lesson`) nor the datasets (`data`);
- the engine, the training application and the datasets never import the UI: they run
  headless, in scripts and in the trainer's thread.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
UI_MODULES = ("textual", "rich", "plotext")


def loaded_after(imports: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `imports`."""
    probe = f"import json, sys\n{imports}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_autograd_library_loads_nothing_of_the_training_application():
    loaded = loaded_after("import engine, engine.nn, engine.optim, engine.nn.functional")
    application = sorted(name for name in loaded
                         if name.startswith(("engine.training", "engine.lesson")) or name.split(".")[0] == "data")
    assert application == [], f"the autograd library pulled in: {application}"


@pytest.mark.parametrize("imports", [
    "import engine.training.trainer, engine.training.runner, engine.training.session, engine.training.setup_string",
    "import engine.lesson.presets, engine.lesson.landscape, engine.lesson.gradcheck, data",
])
def test_the_engine_and_data_import_without_the_ui(imports):
    ui = sorted({name.split(".")[0] for name in loaded_after(imports)} & set(UI_MODULES))
    assert ui == [], f"{imports} pulled in UI libraries: {ui}"


def test_the_controller_and_the_workspace_import_without_textual():
    """Every change a user can make is decided without the UI: the app only draws."""
    ui = sorted({name.split(".")[0] for name in loaded_after("import tui.controller, tui.workspace, tui.settings")}
                & set(UI_MODULES))
    assert ui == [], f"the controller pulled in UI libraries: {ui}"


def test_the_engines_public_names_are_torchs():
    """`__all__` is written out; each name is there, and none is the training application's."""
    import engine

    assert len(set(engine.__all__)) == len(engine.__all__)
    assert all(hasattr(engine, name) for name in engine.__all__)
    assert {"tensor", "Tensor", "no_grad", "nn", "optim", "manual_seed", "randperm"} <= set(engine.__all__)
    assert not {"training", "lesson", "ops", "random"} & set(engine.__all__)
