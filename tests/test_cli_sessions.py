"""`kepler --data`, `--setup`, `--load`, and `kepler train --save` / `--export-history`:
the same book-style output, sessions that continue exactly, one-line errors with exit 2."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from engine.training.session import load_session
from tui import cli

BAD = Path(__file__).parent / "bad_csv"


def kepler(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def epoch_lines(out: subprocess.CompletedProcess) -> list[str]:
    return [line for line in out.stdout.splitlines() if line.startswith("Epoch")]


def one_line_error(out: subprocess.CompletedProcess, prog: str = "kepler train") -> str:
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), out.stderr
    return lines[0]


@pytest.fixture
def lab_csv(tmp_path) -> Path:
    path = tmp_path / "lab.csv"
    path.write_text("# my thermometer\nday;t_u;t_c\n1;35,7;0,5\n2;55,9;14,0\n3;58,2;15,0\n4;81,9;28,0\n5;56,3;11,0\n")
    return path


def test_train_on_your_own_csv(lab_csv):
    out = kepler("train", "--data", lab_csv, "--x", "t_u", "--y", "3", "--input-scale", "0.1", "--epochs", "3")
    assert out.returncode == 0, out.stderr
    lines = epoch_lines(out)
    assert [line.split(",")[0] for line in lines] == ["Epoch 1", "Epoch 2", "Epoch 3"]
    assert out.stdout.splitlines()[-2].startswith("Params w ")


def test_a_bad_csv_is_one_line_naming_file_and_line():
    line = one_line_error(kepler("train", "--data", BAD / "ragged_row.csv"))
    assert f"{BAD / 'ragged_row.csv'}, line 3: 3 cells where the header row (line 1) has 2" in line
    line = one_line_error(kepler("--data", BAD / "latin1.csv"), prog="kepler")
    assert "line 1: byte 0xe9 is not UTF-8" in line


@pytest.mark.parametrize("args, words", [
    (["--data", "x.csv", "--dataset", "curve"], "give one of them"),
    (["--x", "t_u"], "--x and --y choose columns of a --data file"),
    (["--setup", "lrate=1"], "setup string: unknown key 'lrate'"),
    (["--setup", "data=nope"], "data='nope' is not a built-in dataset"),
    (["--setup", "lr=0.1", "--momentum", "3"], "momentum must be in [0, 1)"),
])
def test_option_mistakes(args, words):
    assert words in one_line_error(kepler("train", *args))


def test_a_setup_string_is_the_same_as_the_options():
    by_string = kepler("train", "--setup", "lr=0.01,opt=sgd,scale=0.1,model=linear,data=thermometer,epochs=500",
                       "--log-every", "100")
    by_options = kepler("train", "--input-scale", "0.1", "--lr", "0.01", "--epochs", "500", "--log-every", "100")
    assert by_string.returncode == 0, by_string.stderr
    assert by_string.stdout == by_options.stdout and len(epoch_lines(by_string)) == 5
    overridden = kepler("train", "--setup", "lr=0.01,scale=0.1,epochs=500", "--epochs", "30", "--log-every", "10")
    assert epoch_lines(overridden)[-1].startswith("Epoch 30,")


def test_save_then_load_continues_exactly(tmp_path):
    straight = kepler("train", "--input-scale", "0.1", "--momentum", "0.5", "--epochs", "900", "--log-every", "100")
    session_file = tmp_path / "run.json"
    first = kepler("train", "--input-scale", "0.1", "--momentum", "0.5", "--epochs", "300", "--log-every", "100",
                   "--save", session_file)
    assert first.returncode == 0, first.stderr
    assert f"Session saved to {session_file}" in first.stderr
    assert load_session(session_file)[0].epoch == 300
    rest = kepler("train", "--load", session_file, "--epochs", "600", "--log-every", "100",
                  "--export-history", tmp_path / "history.csv")
    assert rest.returncode == 0, rest.stderr
    assert epoch_lines(first) + epoch_lines(rest) == epoch_lines(straight)
    assert rest.stdout.splitlines()[-2:] == straight.stdout.splitlines()[-2:]  # the same final parameters
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,train_loss,val_loss" and history[-1].startswith("900,")


def test_load_steers_but_does_not_redefine(tmp_path):
    session_file = tmp_path / "run.json"
    assert kepler("train", "--input-scale", "0.1", "--epochs", "10", "--save", session_file).returncode == 0
    steered = kepler("train", "--load", session_file, "--lr", "0.001", "--optimizer", "adam", "--epochs", "5", "--json")
    doc = json.loads(steered.stdout)
    assert doc["config"]["hyperparameters"]["learning_rate"] == 0.001
    assert doc["config"]["hyperparameters"]["optimizer"] == "adam"
    assert [row["epoch"] for row in doc["history"]] == [11, 12, 13, 14, 15]
    assert "--model defines a new run, but --load continues a saved one" in one_line_error(
        kepler("train", "--load", session_file, "--model", "poly:2"))
    assert "--setup defines a new run" in one_line_error(kepler("train", "--load", session_file, "--setup", "lr=1"))


def test_a_bad_session_is_one_line(tmp_path):
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"format": "kepler-session", "version": 7}))
    assert "saved by a newer Kepler (session version 7); this Kepler reads version 3" in one_line_error(
        kepler("train", "--load", newer))
    cut = tmp_path / "cut.json"
    good = tmp_path / "good.json"
    kepler("train", "--epochs", "3", "--save", good)
    cut.write_text(good.read_text()[:300])
    assert "truncated" in one_line_error(kepler("--load", cut), prog="kepler")


def test_an_unwritable_target_is_refused_before_training(tmp_path):
    out = kepler("train", "--epochs", "5", "--save", tmp_path / "missing" / "run.json")
    assert "does not exist" in one_line_error(out)
    out = kepler("train", "--epochs", "5", "--export-history", tmp_path)
    assert "is a folder" in one_line_error(out)


# ---------------------------------------------------------------------- the app's entry
@pytest.fixture
def app_calls(monkeypatch) -> list[dict]:
    """`kepler` hands its Trainer to tui.app.run_app; a stand-in records what it got."""
    calls: list[dict] = []
    fake = types.ModuleType("tui.app")
    fake.run_app = lambda **kwargs: calls.append(kwargs) or 0
    monkeypatch.setitem(sys.modules, "tui.app", fake)
    return calls


def test_the_app_gets_the_loaded_session(tmp_path, app_calls):
    session_file = tmp_path / "run.json"
    assert kepler("train", "--input-scale", "0.1", "--epochs", "40", "--save", session_file).returncode == 0
    assert cli.main(["--load", str(session_file), "--fps", "5"]) == 0
    trainer = app_calls[-1]["trainer"]
    assert trainer.epoch == 40 and trainer.setup.input_transform == "scale" and app_calls[-1]["fps"] == 5


def test_the_app_gets_the_loaded_sessions_pinned_runs(tmp_path, app_calls, capsys):
    import numpy as np

    from engine.training.session import load_session, save_session

    session_file = tmp_path / "run.json"
    assert kepler("train", "--input-scale", "0.1", "--epochs", "5", "--save", session_file).returncode == 0
    trainer, _ = load_session(session_file)
    pinned = {"label": "lr 0.01", "epochs": np.arange(1.0, 4.0), "train_loss": np.array([3.0, 2.0, 1.0]),
              "val_loss": None, "path": np.array([[1.0, 0.0], [1.5, -1.0]])}
    save_session(trainer, session_file, [pinned])
    assert cli.main(["--load", str(session_file)]) == 0
    (ghost,) = app_calls[-1]["ghosts"]
    assert ghost.label == "lr 0.01" and ghost.train_loss.tolist() == [3.0, 2.0, 1.0] and ghost.path.shape == (2, 2)

    save_session(trainer, session_file, [{**pinned, "epochs": "three"}])
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--load", str(session_file)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "ghosts[0].epochs" in err


def test_the_app_gets_a_setup_string_or_a_csv(lab_csv, app_calls):
    cli.main(["--setup", "lr=0.05,opt=adam,scale=std,model=poly:2,data=curve"])
    trainer = app_calls[-1]["trainer"]
    assert (trainer.setup.dataset, trainer.setup.model, trainer.hyper.optimizer) == ("curve", "poly:2", "adam")
    cli.main(["--data", str(lab_csv), "--x", "2", "--y", "t_c"])
    trainer = app_calls[-1]["trainer"]
    assert trainer.dataset.x_label == "t_u" and len(trainer.dataset) == 5 and trainer.epoch == 0


def test_the_app_refuses_a_bad_file_in_one_line(capsys, app_calls):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--data", str(BAD / "nan_value.csv")])
    assert exit_.value.code == 2 and not app_calls
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3, column 't_c': 'NaN' is not a finite number" in err


def test_a_minibatch_run_saved_and_loaded_continues_exactly(tmp_path):
    """The session carries the shuffling generator: 300 + 600 epochs print what 900 do."""
    options = ["--batch-size", "4", "--val-fraction", "0.2", "--optimizer", "adam", "--lr", "0.05", "--log-every", "100"]
    straight = kepler("train", *options, "--epochs", "900")
    session_file = tmp_path / "batches.json"
    first = kepler("train", *options, "--epochs", "300", "--save", session_file)
    rest = kepler("train", "--load", session_file, "--epochs", "600", "--log-every", "100")
    assert first.returncode == 0 and rest.returncode == 0, first.stderr + rest.stderr
    assert epoch_lines(first) + epoch_lines(rest) == epoch_lines(straight)
    assert "Mini-batches of 4: 3 steps an epoch, 2,700 steps in all" in rest.stdout
    assert rest.stdout.splitlines()[-2] == straight.stdout.splitlines()[-2]  # the same final parameters


def test_load_takes_a_new_batch_size_and_refuses_a_new_batch_seed(tmp_path):
    session_file = tmp_path / "run.json"
    assert kepler("train", "--epochs", "10", "--save", session_file).returncode == 0
    doc = json.loads(kepler("train", "--load", session_file, "--batch-size", "2", "--epochs", "5", "--json").stdout)
    assert doc["config"]["hyperparameters"]["batch_size"] == 2 and doc["final"]["steps"] == 10 + 5 * 6
    assert "--seed defines a new run" in one_line_error(kepler("train", "--load", session_file, "--seed", "3"))
    assert "'0' is not a batch size (a whole number >= 1, or full)" in one_line_error(kepler("train", "--batch-size", "0"))
