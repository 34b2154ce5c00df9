"""`kepler train` reports the state the run is really in (issue 9): after early stopping,
for models whose parameters are arrays, on bad input, when writing files, with the same
defaults as the app, and when Ctrl-C stops it."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.training.session import load_session

OVERFIT = "data=overfit,model=poly:7,val=0.3,opt=adam,lr=0.05,scale=std,epochs=20000"


def kepler(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, **kwargs)


def one_line_error(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kepler train: error: "), out.stderr
    return lines[0]


# ---------------------------------------------------------------------- defect 3: early stopping
def test_early_stopping_json_reports_the_restored_epoch_and_where_it_stopped():
    out = kepler("train", "--setup", OVERFIT, "--early-stopping", "--json", "--log-every", "1")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    final = doc["final"]
    assert doc["best_val_epoch"] == 18 and doc["stopped_at"] == 118
    assert final["epoch"] == 18  # not 118
    assert final["val_loss"] == pytest.approx(0.0382, abs=5e-5)  # the best, not 0.9277
    assert final["state"] == "finished"
    # the history keeps the rise after the best epoch: that is what the student should see
    rows = {row["epoch"]: row for row in doc["history"]}
    assert rows[18]["val_loss"] == final["val_loss"] and rows[18]["train_loss"] == final["train_loss"]
    assert max(rows) == 118 and rows[118]["val_loss"] > 20 * final["val_loss"]


def test_early_stopping_text_says_where_it_stopped_and_which_epoch_it_restored():
    out = kepler("train", "--setup", OVERFIT, "--early-stopping", "--log-every", "1000")
    assert out.returncode == 0, out.stderr
    assert "Stopped early at epoch 118: restored epoch 18, the lowest validation loss (0.0382)" in out.stdout


# ---------------------------------------------------------------------- defect 5: array parameters
@pytest.mark.parametrize("model", ["mlp:8", "poly:1", "poly:3"])
def test_text_mode_prints_array_parameters_and_keeps_the_files(tmp_path, model):
    session, history = tmp_path / "run.json", tmp_path / "history.csv"
    out = kepler("train", "--model", model, "--standardize", "--epochs", "3", "--save", session,
                 "--export-history", history)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    params = [line for line in out.stdout.splitlines() if line.startswith("Params ")]
    assert len(params) == 1 and "[" in params[0]
    assert load_session(session)[0].epoch == 3
    assert history.read_text().splitlines()[0] == "epoch,train_loss,val_loss"


# ---------------------------------------------------------------------- defect 6: user input
@pytest.mark.parametrize("args, words", [
    (["--seed", "-1", "--val-fraction", "0.2"], "split seed must be a whole number in 0.."),
    (["--setup", "seed=-1"], "split seed must be a whole number in 0.."),
    (["--setup", "init_seed=-5,model=mlp:4"], "initial-weights seed must be a whole number in 0.."),
    (["--model", "mlp:4", "--seed", "-5"], "seed must be a whole number in 0.."),
    (["--train-indices", "99999999999999999999,1", "--val-indices", "2"], "training index 99999999999999999999"),
    (["--train-indices", "0,1", "--val-indices", "-99999999999999999999"], "validation index -99999999999999999999"),
    (["--train-indices", "0,1", "--val-indices", "11"], "split index 11 is outside the data's points 0..10"),
    (["--dataset", "a" * 300], "unknown dataset 'aaaa"),
    (["--dataset", "a" * 5000], "characters long"),
    (["--data", "a" * 300 + ".csv"], "cannot read"),
])
def test_input_that_crashed_gets_one_line_and_exit_2(args, words):
    assert words in one_line_error(kepler("train", "--epochs", "2", *args))


# ---------------------------------------------------------------------- defect 9: what --save replaces
def test_a_fifo_is_refused_and_left_a_fifo(tmp_path):
    fifo = tmp_path / "x.fifo"
    os.mkfifo(fifo)
    for option in ("--save", "--export-history"):
        line = one_line_error(kepler("train", "--epochs", "2", option, fifo))
        assert "is a FIFO (named pipe), not a regular file" in line and "- writes to standard output" in line
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["x.fifo"]  # no temporary file either


def _device(tmp_path) -> Path:
    """A character device of our own (a twin of /dev/null) in tmp_path: a test must never
    aim a program that might replace it at the real /dev/null. Needs root (CAP_MKNOD)."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here (not root)")
    return path


def test_a_device_and_a_socket_are_refused(tmp_path):
    device = _device(tmp_path)
    assert "is a device, not a regular file" in one_line_error(kepler("train", "--epochs", "2", "--save", device))
    assert stat.S_ISCHR(device.lstat().st_mode)
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        assert "is a socket" in one_line_error(kepler("train", "--epochs", "2", "--export-history", path))
        assert stat.S_ISSOCK(path.lstat().st_mode)


def test_a_link_to_a_fifo_is_refused_at_the_end_too(tmp_path):
    # Checked again when writing: the target may have changed during a long run.
    from engine.training.session import SessionError, write_atomic

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    with pytest.raises(SessionError, match="is a FIFO"):
        write_atomic(link, "x")
    assert link.is_symlink() and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dash_writes_the_history_to_stdout_and_the_report_to_stderr():
    out = kepler("train", "--epochs", "3", "--export-history", "-")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "epoch,train_loss,val_loss" and len(out.stdout.splitlines()) == 4
    assert "Epoch 3, Loss" in out.stderr


def test_dash_session_on_stdout_loads_back(tmp_path):
    out = kepler("train", "--epochs", "3", "--save", "-")
    assert out.returncode == 0, out.stderr
    path = tmp_path / "s.json"
    path.write_text(out.stdout)
    assert load_session(path)[0].epoch == 3


def test_two_things_on_stdout_are_refused():
    assert "--json and --export-history both write to standard output" in one_line_error(
        kepler("train", "--epochs", "2", "--json", "--export-history", "-"))


# ---------------------------------------------------------------------- defect 10: one set of defaults
def test_kepler_and_kepler_train_start_from_the_same_input():
    from tui.cli import _settings

    app_setup, app_hyper = _settings(_parsed([]))
    train_setup, train_hyper = _settings(_parsed(["train"]))
    assert (app_setup, app_hyper) == (train_setup, train_hyper)
    assert train_setup.input_transform == "scale" and train_setup.input_scale == 0.1
    assert _settings(_parsed(["train", "--raw"]))[0].input_transform == "none"
    for argv in ([], ["train"]):
        help_text = " ".join(_help(argv).split())
        assert "kepler and kepler train start from the same defaults: the normalised input 0.1 * raw" in help_text
        assert "--raw feeds the raw readings instead" in help_text


def _parsed(argv):
    from tui.cli import build_parser

    return build_parser().parse_args(argv)


def _help(argv) -> str:
    out = kepler(*argv, "--help")
    assert out.returncode == 0
    return out.stdout


def test_default_train_converges_and_raw_gives_the_books_first_run():
    out = kepler("train", "--epochs", "5000", "--log-every", "5000")
    assert "Epoch 5000, Loss 2.92764" in out.stdout  # the book's 2.927648, in float32
    raw = kepler("train", "--raw", "--epochs", "20", "--json")
    assert json.loads(raw.stdout)["diverged_at"] == 11


def test_json_config_says_only_what_applies():
    raw = json.loads(kepler("train", "--raw", "--epochs", "2", "--json").stdout)["config"]
    assert raw["setup"]["input_transform"] == "none" and "input_scale" not in raw["setup"]
    assert "beta1" not in raw["hyperparameters"] and "early_stopping" not in raw["hyperparameters"]
    scaled = json.loads(kepler("train", "--epochs", "2", "--json", "--optimizer", "adam").stdout)["config"]
    assert scaled["setup"]["input_transform"] == "scale" and scaled["setup"]["input_scale"] == 0.1
    assert "momentum" not in scaled["hyperparameters"] and scaled["hyperparameters"]["beta1"] == 0.9


# ---------------------------------------------------------------------- defect 11: Ctrl-C
def test_ctrl_c_keeps_the_run_reached_and_exits_130(tmp_path):
    session, history = tmp_path / "run.json", tmp_path / "history.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "train", "--epochs", "10000000", "--log-every", "20000",
         "--save", str(session), "--export-history", str(history)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()  # training has started
        assert first.startswith("Epoch 20000, Loss"), first
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted at epoch" in stderr
    assert "Params w" in stdout  # the report of where it got to
    trainer, _ = load_session(session)
    assert 20000 <= trainer.epoch < 10000000
    rows = history.read_text().splitlines()
    assert rows[0] == "epoch,train_loss,val_loss" and int(rows[-1].split(",")[0]) == trainer.epoch
