"""`kepler train` on a built-in dataset ends with the setup that dataset suggests, as a
command to paste; run as printed, it is that setup (and says nothing more)."""
from __future__ import annotations

import json
import shlex

from tui.cli import main

from test_cli import kepler
from test_suggested_setups import damaged_builtins

OVERFIT = "data=overfit,model=poly:7,scale=std,val=0.3,opt=adam,lr=0.05,epochs=3000"


def test_training_on_overfit_prints_its_suggested_setup_and_the_command_runs_it():
    plain = kepler("train", "--dataset", "overfit", "--epochs", "3")
    assert plain.returncode == 0, plain.stderr
    last = plain.stdout.splitlines()[-1]
    assert last == f"Try: kepler train --setup '{OVERFIT}'  (overfit's suggested setup)"
    command = shlex.split(last.removeprefix("Try: ").split("  (")[0])
    assert command[:2] == ["kepler", "train"]
    suggested = kepler(*command[1:], "--log-every", "1000")
    assert suggested.returncode == 0, suggested.stderr
    assert "Try:" not in suggested.stdout  # this is the suggested run: nothing to suggest
    assert "Overfitting since epoch" in suggested.stdout  # and it does overfit


def test_the_curve_says_what_to_change_next_and_the_books_data_suggests_nothing():
    curve = kepler("train", "--dataset", "curve", "--epochs", "1")
    assert curve.stdout.splitlines()[-1] == ("Try: kepler train --setup 'data=curve,scale=std,lr=0.1'  "
                                             "(curve's suggested setup, then change model=poly:2)")
    book = kepler("train", "--epochs", "1")
    assert "Try:" not in book.stdout


def test_json_carries_the_suggested_setup():
    doc = json.loads(kepler("train", "--dataset", "overfit", "--epochs", "2", "--json").stdout)
    assert doc["suggested_setup"] == OVERFIT
    assert json.loads(kepler("train", "--epochs", "2", "--json").stdout)["suggested_setup"] is None


def test_a_damaged_try_line_is_a_note_on_stderr_and_the_run_is_reported(tmp_path, monkeypatch, capsys):
    damaged_builtins(tmp_path, monkeypatch, "overfit", "# Try: kepler --setup 'data=overfit,modl=poly:7'")
    assert main(["train", "--dataset", "overfit", "--epochs", "2"]) == 0
    out, err = capsys.readouterr()
    assert err == ("kepler train: note: overfit.csv, line 2: Try line: setup string: unknown key 'modl'; "
                   "keys are " + err.split("keys are ")[1])
    assert err.count("\n") == 1
    assert out.splitlines()[0] == "Epoch 1, Loss 2.479671" and "Try:" not in out
