"""`kepler code`: the file it prints reproduces the run.

Run on Kepler's engine (its `import torch` line swapped for `import engine as torch`), it
prints `kepler train`'s lines for the same options. Line for line and digit for digit where
the arithmetic is the same: the MLP (the same modules, in the same order). The line and the
polynomial are written as the chapter writes them (`w * t_u + b`, `w[0] * t_u + ...`) where
Kepler's trainer uses one fused node: the same float32 operations, summed in another order
(numpy's pairwise sum against a dot product), so the last printed digit may differ. For them
the printed losses agree within a relative 1e-5 (a few float32 ulps) over these few hundred
epochs, and the epochs printed are the same.

Where PyTorch is installed (never a dependency: skipped otherwise) the same file runs on it,
and after 5,000 epochs its final loss is within a relative 1e-4 of `kepler train`'s.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^Epoch (\d+), (?:Loss (\S+)|Training loss (\S+), Validation loss (\S+))$")


def kepler(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def epoch_lines(text: str) -> list[tuple[int, list[float]]]:
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            out.append((int(m.group(1)), [float(v) for v in m.groups()[1:] if v is not None]))
    return out


def run_file(code: str, tmp_path: Path, python: str = sys.executable, engine: bool = True) -> str:
    if engine:
        code = code.replace("\nimport torch  #", "\nimport engine as torch  #", 1)
        assert "import engine as torch" in code
    path = tmp_path / "run.py"
    path.write_text(code, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([python, str(path)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


# (options, exact): exact where the file does the trainer's own arithmetic
SETUPS = {
    "line-sgd-raw": (["--raw", "--lr", "1e-4", "--epochs", "300"], False),
    "line-sgd-normalised": (["--epochs", "300"], False),
    "line-momentum-nesterov-decay": (["--momentum", "0.9", "--nesterov", "--weight-decay", "0.01",
                                      "--epochs", "300"], False),
    "line-adam-raw": (["--raw", "--optimizer", "adam", "--lr", "0.1", "--epochs", "300"], False),
    "poly3-standardised": (["--dataset", "curve", "--model", "poly:3", "--standardize", "--lr", "0.05",
                            "--epochs", "300"], False),
    "mlp8-validation": (["--model", "mlp:8", "--standardize", "--val-fraction", "0.3", "--optimizer", "adam",
                         "--lr", "0.01", "--epochs", "300", "--seed", "3"], True),
    "book-split": (["--train-indices", "9,6,5,8,4,7,0,1,3", "--val-indices", "2,10", "--epochs", "300"], False),
    "no-zero-grad": (["--setup", "zero_grad=off,epochs=200,lr=0.0001", "--raw"], False),
    "raw-diverges": (["--raw", "--lr", "1e-2", "--epochs", "100"], False),
    # Mini-batches: the file draws the trainer's shuffles from its own seeded numpy generator.
    "line-batch4-validation": (["--batch-size", "4", "--val-fraction", "0.2", "--epochs", "300"], False),
    "line-adam-batch1-raw": (["--raw", "--optimizer", "adam", "--lr", "0.1", "--batch-size", "1",
                              "--epochs", "300"], False),
    "mlp8-batch4-validation": (["--model", "mlp:8", "--standardize", "--val-fraction", "0.3", "--optimizer", "adam",
                                "--lr", "0.01", "--epochs", "300", "--seed", "3", "--batch-size", "4"], True),
    "poly3-batch8-momentum": (["--dataset", "curve", "--model", "poly:3", "--standardize", "--lr", "0.02",
                               "--momentum", "0.9", "--batch-size", "8", "--setup", "batch_seed=5",
                               "--epochs", "300"], False),
    "batch-bigger-than-data": (["--batch-size", "16", "--epochs", "300"], False),
    "batch-no-zero-grad": (["--setup", "zero_grad=off,epochs=200,lr=0.0001,batch=4", "--raw"], False),
    "batch-raw-diverges": (["--raw", "--lr", "7e-4", "--batch-size", "4", "--epochs", "100"], False),
}


@pytest.mark.parametrize("name", SETUPS)
def test_the_file_on_the_engine_prints_kepler_trains_lines(name, capsys, tmp_path):
    options, exact = SETUPS[name]
    expected = kepler(capsys, "train", *options)
    code = kepler(capsys, "code", *options)
    printed = run_file(code, tmp_path)
    want, got = epoch_lines(expected), epoch_lines(printed)
    assert len(want) >= 10 and [e for e, _ in got] == [e for e, _ in want]
    if exact:
        assert [line for line in printed.splitlines() if line.startswith("Epoch")] == \
               [line for line in expected.splitlines() if line.startswith("Epoch")]
    for (_, a), (_, b) in zip(want, got):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-4, nan_ok=True)  # abs: the 4-decimal validation lines


def test_a_batch_size_writes_the_generator_and_the_batch_loop(capsys):
    full = kepler(capsys, "code")
    assert "rng" not in full and "batch" not in full and "import numpy" not in full  # the book's loop, unchanged
    batched = kepler(capsys, "code", "--batch-size", "4", "--setup", "batch_seed=7")
    assert "batch_size = 4" in batched and "rng = np.random.default_rng(7)" in batched
    assert "order = rng.permutation(len(train_t_u))" in batched and "ceil(11 / 4) = 3 steps an epoch" in batched
    assert "rng = np.random.default_rng(3)" in kepler(capsys, "code", "--batch-size", "4", "--seed", "3")


def test_the_zero_grad_switch_is_in_the_file(capsys):
    on = kepler(capsys, "code")
    off = kepler(capsys, "code", "--setup", "zero_grad=off")
    assert "    optimizer.zero_grad()" in on and "    optimizer.zero_grad()" not in off
    assert "accumulate" in off


def test_the_file_holds_every_optimizer_setting(capsys):
    sgd = kepler(capsys, "code", "--momentum", "0.9", "--nesterov", "--weight-decay", "0.01", "--lr", "0.003")
    assert "torch.optim.SGD([params], lr=0.003, momentum=0.9, nesterov=True, weight_decay=0.01)" in sgd
    adam = kepler(capsys, "code", "--setup", "opt=adam,lr=0.1,beta1=0.8,beta2=0.99")
    assert "torch.optim.Adam([params], lr=0.1, betas=(0.8, 0.99))" in adam
    assert adam.count("import torch") == 1 and "import engine as torch" in adam


def test_the_line_starts_where_the_setup_says(capsys, tmp_path):
    from engine.lesson.code import python_code
    from engine.training.trainer import Hyperparameters, Setup, Trainer

    setup = Setup(init_w=2.5, init_b=-3.0, input_transform="scale")
    trainer = Trainer(setup, Hyperparameters(epochs=20))
    code = python_code(setup, Hyperparameters(epochs=20), trainer.dataset)
    assert "params = torch.tensor([2.5, -3.0], requires_grad=True)" in code
    trainer.train(1)
    assert epoch_lines(run_file(code, tmp_path))[0][1][0] == pytest.approx(trainer.last_epoch.train_loss, rel=1e-6)


def test_the_mlps_initial_weights_are_keplers(tmp_path):
    """The file draws the MLP's starting weights itself: the first loss is the trainer's, exactly."""
    from engine.lesson.code import python_code
    from engine.training.trainer import Hyperparameters, Setup, Trainer

    setup, hyper = Setup(model="mlp:13", init_seed=7, input_transform="standardize"), Hyperparameters(epochs=1)
    trainer = Trainer(setup, hyper)
    trainer.train(1)
    printed = run_file(python_code(setup, hyper, trainer.dataset), tmp_path)
    assert f"Epoch 1, Loss {trainer.last_epoch.train_loss:f}" in printed


def test_float64_runs_in_float64(capsys, tmp_path):
    options = ["--dtype", "float64", "--epochs", "50"]
    code = kepler(capsys, "code", *options)
    assert "torch.set_default_dtype(torch.float64)" in code
    assert epoch_lines(run_file(code, tmp_path)) == epoch_lines(kepler(capsys, "train", *options))


def test_a_large_file_is_read_from_its_path(capsys, tmp_path, monkeypatch):
    import engine.lesson.code as code_module

    monkeypatch.setattr(code_module, "INLINE_POINTS", 5)
    csv = tmp_path / "readings.csv"
    csv.write_text("# my readings\nwhen;x;y\n" + "".join(f"{i};{i},5;{2 * i + 1},25\n" for i in range(12)),
                   encoding="utf-8")
    options = ["--data", str(csv), "--x", "x", "--y", "y", "--standardize", "--epochs", "40"]
    code = kepler(capsys, "code", *options)
    assert str(csv) in code and "t_u = [" not in code
    got, want = epoch_lines(run_file(code, tmp_path)), epoch_lines(kepler(capsys, "train", *options))
    assert [e for e, _ in got] == [e for e, _ in want] and len(got) == 40
    assert [v for _, v in got] == [pytest.approx(v, rel=1e-5) for _, v in want]


def test_output_writes_the_file_and_refuses_a_device(capsys, tmp_path):
    target = tmp_path / "run.py"
    assert main(["code", "--output", str(target), "--epochs", "7"]) == 0
    assert "n_epochs = 7" in target.read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["code", "--output", "/dev/null"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kepler code: error: --output /dev/null")


@pytest.mark.parametrize("argv", [["--lr", "99"], ["--model", "cubic"], ["--val-fraction", "1.5"],
                                  ["--train-indices", "1,2"], ["--setup", "lr=oops"], ["--load", "/no/such/file"],
                                  ["--load", "x.json", "--model", "mlp:3"], ["--epochs", "0"]])
def test_bad_options_are_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["code", *argv])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "error:" in captured.err


def test_load_writes_the_sessions_run_from_its_start(capsys, tmp_path):
    session = tmp_path / "s.json"
    assert main(["train", "--model", "poly:2", "--epochs", "30", "--save", str(session)]) == 0
    capsys.readouterr()
    code = kepler(capsys, "code", "--load", str(session))
    assert "w[1] * t_u ** 2" in code and "n_epochs = 30" in code


# ---------------------------------------------------------------------- real PyTorch, where it is
try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

TORCH_SETUPS = {
    "line-sgd-normalised": [],
    "line-adam-raw": ["--raw", "--optimizer", "adam", "--lr", "0.1"],
    "line-momentum-nesterov-decay": ["--momentum", "0.5", "--nesterov", "--weight-decay", "0.001", "--lr", "0.005"],
    "poly3-standardised": ["--dataset", "curve", "--model", "poly:3", "--standardize", "--lr", "0.05"],
    "mlp8-validation": ["--model", "mlp:8", "--standardize", "--val-fraction", "0.3", "--optimizer", "adam",
                        "--lr", "0.01", "--seed", "3"],
    "book-split": ["--train-indices", "9,6,5,8,4,7,0,1,3", "--val-indices", "2,10"],
    "line-batch4-validation": ["--batch-size", "4", "--val-fraction", "0.2"],
    "line-adam-batch1-raw": ["--raw", "--optimizer", "adam", "--lr", "0.1", "--batch-size", "1"],
    "mlp8-batch4-validation": ["--model", "mlp:8", "--standardize", "--val-fraction", "0.3", "--optimizer", "adam",
                               "--lr", "0.01", "--seed", "3", "--batch-size", "4"],
    "poly3-batch8-momentum": ["--dataset", "curve", "--model", "poly:3", "--standardize", "--lr", "0.02",
                              "--momentum", "0.9", "--batch-size", "8"],
}


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed (it is never a dependency)")
@pytest.mark.parametrize("name", TORCH_SETUPS)
def test_the_file_on_pytorch_ends_at_kepler_trains_loss(name, capsys, tmp_path):
    options = TORCH_SETUPS[name]
    expected = epoch_lines(kepler(capsys, "train", *options))
    got = epoch_lines(run_file(kepler(capsys, "code", *options), tmp_path, engine=False))
    assert got[-1][0] == expected[-1][0] == 5000
    assert got[-1][1][0] == pytest.approx(expected[-1][1][0], rel=1e-4)
