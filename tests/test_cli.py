"""`kepler train`: the book's lines, JSON for scripts, and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


def kepler(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=120)


def test_train_prints_the_books_lines():
    out = kepler("train", "--input-scale", "0.1", "--epochs", "5000", "--log-every", "500")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    losses = {int(l.split(",")[0].split()[1]): float(l.split()[-1]) for l in lines if l.startswith("Epoch")}
    assert sorted(losses) == list(range(500, 5001, 500))
    # the book prints 7.860116 and 2.927648 (float32 rounding differs in the last digit)
    assert losses[500] == pytest.approx(7.860116, rel=1e-5)
    assert losses[5000] == pytest.approx(2.927648, rel=1e-5)
    assert "Params w 5.3671, b -17.3012" in out.stdout
    assert "In raw units (x = 0.1 * raw): w 0.5367, b -17.3012" in out.stdout


def test_train_divergence_is_reported_not_raised():
    out = kepler("train", "--raw", "--lr", "1e-2", "--epochs", "100")
    assert out.returncode == 0
    assert out.stdout.splitlines()[0] == "Epoch 1, Loss 1763.884644"
    assert "Epoch 11, Loss inf" in out.stdout
    assert "Epoch 12" not in out.stdout
    assert "Diverged at epoch 11" in out.stdout and "57x" in out.stdout
    assert "Traceback" not in out.stderr


def test_train_with_the_books_split_prints_both_losses():
    out = kepler("train", "--input-scale", "0.1", "--epochs", "3000", "--log-every", "1000",
                 "--train-indices", "9,6,5,8,4,7,0,1,3", "--val-indices", "2,10")
    assert "Epoch 3000, Training loss 3.0125, Validation loss 3.5756" in out.stdout


def test_train_json_is_one_document():
    out = kepler("train", "--raw", "--epochs", "20", "--json")
    doc = json.loads(out.stdout)
    assert doc["diverged_at"] == 11
    assert doc["config"]["hyperparameters"]["learning_rate"] == 0.01
    assert set(doc["params"]) == {"w", "b"}
    assert doc["history"][0] == {"epoch": 1, "train_loss": pytest.approx(1763.884644), "val_loss": None}
    assert doc["history"][-1]["epoch"] == 11 and doc["history"][-1]["train_loss"] is None  # inf -> null


@pytest.mark.parametrize(
    "args, words",
    [
        (["--lr", "-1"], "learning rate must be a positive number"),
        (["--lr", "abc"], "'abc' is not a number"),
        (["--epochs", "0"], "must be at least 1"),
        (["--model", "cubic"], "model 'cubic' is not one of"),
        (["--val-fraction", "1.5"], "validation fraction must be in [0, 1)"),
        (["--dataset", "nope"], "unknown dataset 'nope'"),
        (["--optimizer", "rmsprop"], "invalid choice"),
        (["--train-indices", "1,2"], "go together"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(args, words):
    out = kepler("train", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert words in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_huge_numbers_are_printed_in_scientific_form():
    """lr 1 on 0.1 × raw: fixed decimals printed w as -257731830590172725248.0000. The
    epoch lines stay the book's own (its loop prints `{loss:f}`, and so does `kepler code`'s
    file, so the two outputs compare line for line); every other number is compact."""
    out = kepler("train", "--lr", "1", "--epochs", "100", "--log-every", "1")
    assert out.returncode == 0, out.stderr
    assert "In raw units (x = 0.1 * raw): w -2.5773e+20, b -4.5529e+20" in out.stdout
    assert "Params w -2.5773e+21, b -4.5529e+20" in out.stdout
    assert "Epoch 2, Loss 179763.765625" in out.stdout
    assert "Epoch 10, Loss 4612776274124044704301144608866304.000000" in out.stdout
    summary = [line for line in out.stdout.splitlines() if not line.startswith("Epoch ")]
    longest = max(len(word) for line in summary for word in line.replace(",", " ").split())
    assert longest <= 14, out.stdout


def test_divergence_names_the_gradient_ratio_only_when_it_is_large():
    out = kepler("train", "--lr", "1", "--epochs", "100")  # w's gradient is 6x b's: not the story
    assert "The gradient for w" not in out.stdout
    assert ("The step was too large for the loss's curvature: above lr 0.033 (2 / the largest curvature, "
            "for this input) every step overshoots.") in out.stdout


def test_a_run_at_the_edge_of_stability_is_told_it_will_not_settle():
    """lr 1 on the standardised line is exactly 2 / λ_max: the loss sits at 171 for good."""
    out = kepler("train", "--standardize", "--lr", "1", "--epochs", "1000", "--log-every", "1000")
    assert "Epoch 1000, Loss 171.239044" in out.stdout
    assert ("Note: --lr 1 is at this input's edge of stability, 2/λmax = 1: the loss will swing back and forth "
            "instead of settling. --lr 0.5 converges.") in out.stdout
    calm = kepler("train", "--standardize", "--lr", "0.5", "--epochs", "100", "--log-every", "100")
    assert "Note:" not in calm.stdout and "Epoch 100, Loss 2.92764" in calm.stdout
