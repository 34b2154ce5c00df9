"""The `kepler` command: the app by default, `kepler train` headless.

`kepler train` never imports textual: it prints the lines the book prints
(`Epoch 1, Loss 1763.884644`) or, with `--json`, one JSON document. A bad option is one
line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line: `kepler train: error: ...`."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _indices(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of whole numbers") from None
    if not values:
        raise argparse.ArgumentTypeError("an empty list of indices")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def _add_training_options(p: argparse.ArgumentParser, defaults: dict) -> None:
    g = p.add_argument_group("what to train")
    g.add_argument("--dataset", default="thermometer", help="built-in dataset (default: thermometer)")
    g.add_argument("--model", default="linear", help="linear | poly:K | mlp:H (default: linear)")
    scale = g.add_mutually_exclusive_group()
    scale.add_argument("--input-scale", type=_number, metavar="F", default=defaults.get("input_scale"),
                       help="feed the model F * x (the book's normalisation is 0.1)")
    scale.add_argument("--standardize", action="store_true", help="feed the model (x - mean) / std")
    scale.add_argument("--raw", action="store_true", help="feed the model the raw readings")
    g.add_argument("--val-fraction", type=_number, default=0.0, metavar="F",
                   help="share of points held out for validation, in [0, 1) (default 0: no split)")
    g.add_argument("--train-indices", type=_indices, metavar="I,J,...", help="explicit training points")
    g.add_argument("--val-indices", type=_indices, metavar="I,J,...", help="explicit validation points")
    g.add_argument("--seed", type=int, default=0, help="seed for the split and the initial weights")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    h = p.add_argument_group("how to train")
    h.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    h.add_argument("--lr", type=_number, default=defaults["lr"], metavar="RATE",
                   help=f"learning rate (default {defaults['lr']:g})")
    h.add_argument("--momentum", type=_number, default=0.0)
    h.add_argument("--nesterov", action="store_true")
    h.add_argument("--weight-decay", type=_number, default=0.0)
    h.add_argument("--epochs", type=_positive_int, default=defaults["epochs"],
                   help=f"epoch budget (default {defaults['epochs']})")
    h.add_argument("--early-stopping", action="store_true", help="stop and restore the best validation epoch")


def _settings(args):
    """Setup and Hyperparameters from parsed options; SettingError for a bad value."""
    from engine.trainer import Hyperparameters, Setup, SettingError

    if args.standardize:
        transform, scale = "standardize", 0.1
    elif args.input_scale is not None and not args.raw:
        transform, scale = "scale", args.input_scale
    else:
        transform, scale = "none", 0.1
    if (args.train_indices is None) != (args.val_indices is None):
        raise SettingError("--train-indices and --val-indices go together")
    setup = Setup(dataset=args.dataset, model=args.model, input_transform=transform, input_scale=scale,
                  val_fraction=args.val_fraction, split_seed=args.seed, init_seed=args.seed,
                  train_indices=args.train_indices, val_indices=args.val_indices, dtype=args.dtype).validate()
    hyper = Hyperparameters(optimizer=args.optimizer, learning_rate=args.lr, momentum=args.momentum,
                            nesterov=args.nesterov, weight_decay=args.weight_decay, epochs=args.epochs,
                            early_stopping=args.early_stopping).validate()
    return setup, hyper


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kepler", description="Watch gradient descent learn, in the terminal.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    _add_training_options(p, {"lr": 1e-2, "epochs": 5000, "input_scale": 0.1})
    p.add_argument("--fps", type=_number, default=10.0, help="screen updates per second (default 10)")
    p.add_argument("--low-bandwidth", action="store_true", help="fewer, smaller screen updates (slow SSH links)")
    p.add_argument("--ascii", action="store_true", help="plots in plain ASCII (for terminals without braille)")
    p.add_argument("--speed", type=_number, default=None, metavar="EPOCHS_PER_S",
                   help="training speed limit (default: the app's teaching pace)")

    t = sub.add_parser("train", help="train without the UI and print the losses")
    _add_training_options(t, {"lr": 1e-2, "epochs": 5000})
    t.add_argument("--log-every", type=_positive_int, default=None, metavar="N",
                   help="print every N epochs (default: every epoch up to 100, else a tenth of the run)")
    t.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return _train(args, parser)
        return _app(args, parser)
    except BrokenPipeError:  # `kepler train | head`: the reader left, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def _app(args, parser) -> int:
    from engine.trainer import SettingError, Trainer

    try:
        setup, hyper = _settings(args)
        trainer = Trainer(setup, hyper)
    except SettingError as exc:
        parser.exit(EXIT_USAGE, f"kepler: error: {exc}\n")
    if args.fps <= 0:
        parser.exit(EXIT_USAGE, f"kepler: error: --fps must be positive (got {args.fps:g})\n")
    from tui.app import run_app  # textual is imported only for the app

    return run_app(trainer=trainer, fps=args.fps, low_bandwidth=args.low_bandwidth, ascii_plots=args.ascii)


# ---------------------------------------------------------------------- headless
def _train(args, parser) -> int:
    from engine.trainer import SettingError, Trainer

    try:
        setup, hyper = _settings(args)
        trainer = Trainer(setup, hyper)
    except SettingError as exc:
        parser.exit(EXIT_USAGE, f"kepler train: error: {exc}\n")
    log_every = args.log_every or (1 if hyper.epochs <= 100 else max(1, hyper.epochs // 10))
    has_val = trainer.split.val.size > 0
    history = []

    def on_epoch(t: Trainer) -> None:
        train_loss, val_loss = t._last[0], t._last[1]
        if t.epoch % log_every == 0 or t.state == "diverged" or t.epoch == hyper.epochs:
            history.append({"epoch": t.epoch, "train_loss": train_loss, "val_loss": val_loss})
            if not args.json:
                if has_val:
                    print(f"Epoch {t.epoch}, Training loss {train_loss:.4f}, Validation loss {val_loss:.4f}")
                else:
                    print(f"Epoch {t.epoch}, Loss {train_loss:f}")

    snapshot = trainer.train(hyper.epochs, on_epoch=on_epoch)
    params = {name: _jsonable(value) for name, value in snapshot.params.items()}
    if args.json:
        doc = {
            "config": {"setup": _jsonable(asdict(setup)), "hyperparameters": asdict(hyper)},
            "params": params,
            "raw_params": None if snapshot.raw_line is None else {"w": _jsonable(snapshot.raw_line[0]), "b": _jsonable(snapshot.raw_line[1])},
            "history": [{k: _jsonable(v) for k, v in row.items()} for row in history],
            "final": {"epoch": snapshot.epoch, "train_loss": _jsonable(snapshot.train_loss),
                      "val_loss": _jsonable(snapshot.val_loss), "state": snapshot.state},
            "diverged_at": snapshot.divergence.epoch if snapshot.divergence else None,
            "best_val_epoch": snapshot.best_val_epoch,
        }
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        print()
        return 0
    print("Params " + ", ".join(f"{name} {_fmt(value)}" for name, value in snapshot.params.items()))
    if snapshot.raw_line is not None and setup.input_transform != "none":
        w, b = snapshot.raw_line
        print(f"In raw units ({trainer.transform.describe()}): w {w:.4f}, b {b:.4f}")
    if snapshot.divergence is not None:
        print(_divergence_text(snapshot.divergence))
    if snapshot.stopped_early:
        print(f"Stopped early: restored the parameters of epoch {snapshot.best_val_epoch}, "
              f"the lowest validation loss ({snapshot.best_val_loss:.4f})")
    elif snapshot.overfitting_since is not None:
        print(f"Overfitting since epoch {snapshot.overfitting_since}: validation loss has been rising since "
              f"{snapshot.best_val_loss:.4f} while training loss went on falling")
    return 0


def _divergence_text(d) -> str:
    text = f"Diverged at epoch {d.epoch}: {d.reason}."
    ratio = d.grad_ratio()
    if ratio:
        hi, lo, r = ratio
        text += f" The gradient for {hi} was {r:.0f}x the one for {lo}, so every step overshot."
    return text + " Try a smaller --lr, --input-scale 0.1, or --optimizer adam."


def _fmt(value) -> str:
    import numpy as np

    a = np.asarray(value)
    if a.size == 1:
        return f"{float(a):.4f}" if math.isfinite(float(a)) and abs(float(a)) < 1e8 else f"{float(a):.4e}"
    return np.array2string(a, precision=4, separator=", ")


def _jsonable(value):
    """numpy and non-finite values made JSON-safe (inf/NaN become null)."""
    import numpy as np

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


if __name__ == "__main__":
    sys.exit(main())
