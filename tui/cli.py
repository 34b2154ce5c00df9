"""The `kepler` command: the app by default, `kepler train` headless.

`kepler train` never imports textual: it prints the lines the book prints
(`Epoch 1, Loss 1763.884644`) or, with `--json`, one JSON document. A bad option, a bad
data file or a bad session file is one line on stderr and exit status 2, never a traceback.

Where a run's configuration comes from, for both commands:
- the options (`--lr`, `--model`, `--data FILE.csv --x COL --y COL`, ...), or
- `--setup 'lr=0.01,opt=adam,...'` (engine/training/setup_string.py), with any option given as well
  overriding that key, or
- `--load FILE`: a saved session, which continues where it was. Options that steer a run
  (`--lr`, `--optimizer`, `--momentum`, ...) still apply; options that define a new run
  (`--model`, `--data`, ...) are refused; `--epochs N` means N more epochs.

Both commands start from the same defaults (`DEFAULT_SETUP` and `Hyperparameters()` in
engine/training/trainer.py): the book's normalised input 0.1 * t_u, SGD at lr 1e-2, 5000
epochs. `--raw` gives the book's first run on the raw readings, which diverges.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict

from tui import format as fmt
from tui.arguments import _batch_size, _number, _positive_int, add_serve_commands, add_served_options, add_theme_option

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


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


def _column(text: str) -> str | int:
    """A column by position (digits, counted from 1) or by header name."""
    text = text.strip()
    if not text:
        raise argparse.ArgumentTypeError("an empty column name")
    return int(text) if text.isdigit() else text


def _add_training_options(p: argparse.ArgumentParser, defaults: dict, suppress: bool = False) -> None:
    # suppress: every default is argparse.SUPPRESS, so a parse shows which options were given.
    def d(value):
        return argparse.SUPPRESS if suppress else value

    g = p.add_argument_group("what to train")
    g.add_argument("--dataset", default=d("thermometer"), help="built-in dataset (default: thermometer)")
    g.add_argument("--data", metavar="FILE.csv", default=d(None),
                   help="your own CSV file: a header row optional; comma, semicolon or tab separated")
    g.add_argument("--x", type=_column, metavar="COLUMN", default=d(None),
                   help="the --data column to learn from, by name or position from 1 (default: the first)")
    g.add_argument("--y", type=_column, metavar="COLUMN", default=d(None),
                   help="the --data column to predict, by name or position from 1 (default: the second)")
    g.add_argument("--model", default=d("linear"), help="linear | poly:K | mlp:H (default: linear)")
    scale = g.add_mutually_exclusive_group()
    scale.add_argument("--input-scale", type=_number, metavar="F", default=d(defaults["input_scale"]),
                       help=f"feed the model F * x (default {defaults['input_scale']:g}: the book's normalised "
                            f"t_un = 0.1 * t_u)")
    scale.add_argument("--standardize", action="store_true", default=d(False), help="feed the model (x - mean) / std")
    scale.add_argument("--raw", action="store_true", default=d(False),
                       help="feed the model the raw readings (the book's first run: at --lr 1e-2 it diverges)")
    g.add_argument("--val-fraction", type=_number, default=d(0.0), metavar="F",
                   help="share of points held out for validation, in [0, 1) (default 0: no split)")
    g.add_argument("--train-indices", type=_indices, metavar="I,J,...", default=d(None), help="explicit training points")
    g.add_argument("--val-indices", type=_indices, metavar="I,J,...", default=d(None), help="explicit validation points")
    g.add_argument("--seed", type=int, default=d(0),
                   help="seed for the split, the initial weights and the mini-batch shuffles")
    g.add_argument("--dtype", choices=("float32", "float64"), default=d("float32"))
    h = p.add_argument_group("how to train")
    h.add_argument("--optimizer", choices=("sgd", "adam"), default=d("sgd"))
    h.add_argument("--lr", type=_number, default=d(defaults["lr"]), metavar="RATE",
                   help=f"learning rate (default {defaults['lr']:g})")
    h.add_argument("--momentum", type=_number, default=d(0.0))
    h.add_argument("--nesterov", action="store_true", default=d(False))
    h.add_argument("--weight-decay", type=_number, default=d(0.0))
    h.add_argument("--batch-size", type=_batch_size, default=d(None), metavar="N",
                   help="train on shuffled mini-batches of N points, ceil(n / N) steps an epoch "
                        "(default full: every point, one step an epoch, as the book does)")
    h.add_argument("--epochs", type=_positive_int, default=d(defaults["epochs"]),
                   help=f"epoch budget (default {defaults['epochs']}; with --load: this many more)")
    h.add_argument("--early-stopping", action="store_true", default=d(False),
                   help="stop and restore the best validation epoch")
    k = p.add_argument_group("configurations and sessions")
    k.add_argument("--setup", metavar="'KEY=VALUE,...'", default=d(None),
                   help="a whole configuration in one line, e.g. 'lr=0.01,opt=adam,scale=0.1,model=linear,"
                        "data=thermometer' (options given as well override its keys)")
    k.add_argument("--load", metavar="FILE", default=d(None), help="continue a saved session")


# dest -> option, for the options that define a run (refused with --load) or steer it
_SETUP_OPTIONS = {"dataset": "--dataset", "data": "--data", "x": "--x", "y": "--y", "model": "--model",
                  "input_scale": "--input-scale", "standardize": "--standardize", "raw": "--raw",
                  "val_fraction": "--val-fraction", "train_indices": "--train-indices",
                  "val_indices": "--val-indices", "seed": "--seed", "dtype": "--dtype"}
_HYPER_OPTIONS = {"optimizer": "optimizer", "lr": "learning_rate", "momentum": "momentum", "nesterov": "nesterov",
                  "weight_decay": "weight_decay", "early_stopping": "early_stopping", "batch_size": "batch_size"}


def _settings(args):
    """Setup and Hyperparameters from parsed options; SettingError for a bad value."""
    from engine.training.trainer import Hyperparameters, Setup, SettingError

    scale = args.input_scale
    if args.standardize:
        transform = "standardize"
    elif args.raw:
        transform = "none"
    else:
        transform = "scale"
    if (args.train_indices is None) != (args.val_indices is None):
        raise SettingError("--train-indices and --val-indices go together")
    setup = Setup(dataset=_dataset(args), model=args.model, input_transform=transform, input_scale=scale,
                  val_fraction=args.val_fraction, split_seed=args.seed, init_seed=args.seed, batch_seed=args.seed,
                  train_indices=args.train_indices, val_indices=args.val_indices, dtype=args.dtype,
                  x_column=args.x, y_column=args.y).validate()
    hyper = Hyperparameters(optimizer=args.optimizer, learning_rate=args.lr, momentum=args.momentum,
                            nesterov=args.nesterov, weight_decay=args.weight_decay, epochs=args.epochs,
                            early_stopping=args.early_stopping, batch_size=args.batch_size).validate()
    return setup, hyper


def _dataset(args) -> str:
    from data import file_reference

    return file_reference(args.data) if args.data else args.dataset


def build_parser(suppress_defaults: bool = False) -> argparse.ArgumentParser:
    from engine.training.trainer import DEFAULT_SETUP, Hyperparameters

    hyper = Hyperparameters()
    defaults = {"lr": hyper.learning_rate, "epochs": hyper.epochs, "input_scale": DEFAULT_SETUP.input_scale}
    note = (f"kepler and kepler train start from the same defaults: the normalised input "
            f"{defaults['input_scale']:g} * raw, {hyper.optimizer.upper()} at --lr {defaults['lr']:g}, "
            f"{defaults['epochs']} epochs. --raw feeds the raw readings instead: the book's first run, which "
            f"diverges at that rate.")
    p = _Parser(prog="kepler", description=f"Watch gradient descent learn, in the terminal. {note}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    _add_training_options(p, defaults, suppress_defaults)
    p.add_argument("--fps", type=_number, default=10.0, help="screen updates per second (default 10)")
    p.add_argument("--low-bandwidth", action="store_true", help="fewer, smaller screen updates (slow SSH links)")
    p.add_argument("--ascii", action="store_true", help="plots in plain ASCII (for terminals without braille)")
    p.add_argument("--lesson", action="store_true", help="open with Kepler's seven steps (the c key brings them back)")
    add_theme_option(p, "colours")
    p.add_argument("--speed", type=_number, default=None, metavar="EPOCHS_PER_S",
                   help="training speed limit in epochs/s; 0 for as fast as possible (default: the teaching pace, 200/s)")

    t = sub.add_parser("train", help="train without the UI and print the losses",
                       description=f"Train without the UI and print the losses. {note}")
    _add_training_options(t, defaults, suppress_defaults)
    t.add_argument("--log-every", type=_positive_int, default=None, metavar="N",
                   help="print every N epochs (default: every epoch up to 100, else a tenth of the run)")
    t.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    t.add_argument("--save", metavar="FILE",
                   help="save the session to FILE at the end, or when Ctrl-C stops the run (continue it with "
                        "--load); - writes it to standard output")
    t.add_argument("--export-history", metavar="FILE.csv",
                   help="write the loss history as CSV at the end (or at Ctrl-C); - writes it to standard output")

    c = sub.add_parser("code", help="print the PyTorch code that reproduces the run",
                       description="Print one self-contained Python file that reproduces the run the options "
                                   "describe with PyTorch, printing the lines kepler train prints (its "
                                   "`import torch` line may read `import engine as torch`: Kepler's own engine). "
                                   "With --load: the session's run from its start.")
    _add_training_options(c, defaults, suppress_defaults)
    c.add_argument("--log-every", type=_positive_int, default=None, metavar="N",
                   help="print every N epochs (default: as kepler train does)")
    c.add_argument("--output", metavar="FILE.py", help="write the file there instead of printing it")

    add_served_options(p)  # internal: what serve-ssh and serve-web pass to each app
    add_serve_commands(sub)  # options only: asyncssh loads when a server starts
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    # Which options were typed (not defaulted): they override a --setup string or a session.
    args.explicit = set(vars(build_parser(suppress_defaults=True).parse_args(argv))) & (
        set(_SETUP_OPTIONS) | set(_HYPER_OPTIONS) | {"epochs", "setup", "load"})
    try:
        if args.command == "train":
            return _train(args, parser)
        if args.command == "code":
            return _code(args, parser)
        if args.command in ("serve-ssh", "serve-web"):
            from serve.cli import run_serve

            return run_serve(args)
        return _app(args, parser)
    except BrokenPipeError:  # `kepler train | head`: the reader left, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def _trainer(args, prog: str, parser):
    """The Trainer the options describe: new, from --setup, or continued from --load;
    returns (trainer, ghosts, epochs to run). Any problem: one line and exit 2."""
    from engine.training.session import SessionError, load_session
    from engine.training.setup_string import parse_setup_string
    from engine.training.trainer import MAX_EPOCH_BUDGET, SettingError, Trainer

    explicit = args.explicit
    try:
        if "data" in explicit and "dataset" in explicit:
            raise SettingError("--data reads your CSV file, --dataset picks a built-in one: give one of them")
        if ("x" in explicit or "y" in explicit) and "data" not in explicit and "setup" not in explicit:
            raise SettingError("--x and --y choose columns of a --data file")
        if "load" in explicit:
            given = [option for dest, option in _SETUP_OPTIONS.items() if dest in explicit]
            if "setup" in explicit:
                given.insert(0, "--setup")
            if given:
                raise SettingError(f"{given[0]} defines a new run, but --load continues a saved one: give one of them")
            trainer, ghosts = load_session(args.load)
            changes = {field: getattr(args, dest) for dest, field in _HYPER_OPTIONS.items() if dest in explicit}
            if "epochs" in explicit:  # N more epochs from where the session stopped
                changes["epochs"] = min(trainer.epoch + args.epochs, MAX_EPOCH_BUDGET)
            if changes:
                trainer.set_hyperparameters(**changes)
            return trainer, ghosts, max(0, trainer.hyper.epochs - trainer.epoch)
        if "setup" in explicit:
            setup, hyper = parse_setup_string(args.setup)
            setup, hyper = _overlay(setup, hyper, args)
        else:
            setup, hyper = _settings(args)
        return Trainer(setup, hyper), [], hyper.epochs
    except (SettingError, SessionError) as exc:
        parser.exit(EXIT_USAGE, f"{prog}: error: {exc}\n")


def _overlay(setup, hyper, args):
    """A --setup string's configuration with the options typed beside it taking precedence."""
    from dataclasses import replace

    from engine.training.trainer import SettingError

    explicit = args.explicit
    s, h = {}, {}
    if "dataset" in explicit or "data" in explicit:
        s["dataset"] = _dataset(args)
    for dest, field in (("x", "x_column"), ("y", "y_column"), ("model", "model"), ("val_fraction", "val_fraction"),
                        ("dtype", "dtype")):
        if dest in explicit:
            s[field] = getattr(args, dest)
    if "standardize" in explicit:
        s["input_transform"] = "standardize"
    elif "raw" in explicit:
        s["input_transform"] = "none"
    elif "input_scale" in explicit:
        s.update(input_transform="scale", input_scale=args.input_scale)
    if ("train_indices" in explicit) != ("val_indices" in explicit):
        raise SettingError("--train-indices and --val-indices go together")
    if "train_indices" in explicit:
        s.update(train_indices=args.train_indices, val_indices=args.val_indices)
    if "seed" in explicit:
        s.update(split_seed=args.seed, init_seed=args.seed, batch_seed=args.seed)
    for dest, field in _HYPER_OPTIONS.items():
        if dest in explicit:
            h[field] = getattr(args, dest)
    if "epochs" in explicit:
        h["epochs"] = args.epochs
    return replace(setup, **s).validate(), replace(hyper, **h).validate()


def _app(args, parser) -> int:
    trainer, saved_ghosts, _ = _trainer(args, "kepler", parser)
    if args.fps <= 0:
        parser.exit(EXIT_USAGE, f"kepler: error: --fps must be positive (got {args.fps:g})\n")
    from engine.training.session import SessionError
    from tui.app import run_app  # textual is imported only for the app
    from tui.ghosts import ghosts_from_saved

    try:  # the session's pinned runs, checked before the app starts
        ghosts = ghosts_from_saved(saved_ghosts, args.load or "session")
    except SessionError as exc:
        parser.exit(EXIT_USAGE, f"kepler: error: {exc}\n")
    return run_app(trainer=trainer, fps=args.fps, low_bandwidth=args.low_bandwidth, ascii_plots=args.ascii,
                   speed=args.speed, open_lesson=args.lesson, ghosts=ghosts, workspace=_workspace(args, parser),
                   theme_name=args.theme)


def _workspace(args, parser):
    """`--served`: the student's folder and the teacher's data (tui/workspace.py); else None."""
    if args.served is None:
        return None
    from tui.workspace import ServedWorkspace, WorkspaceError

    if args.workspace is None:
        parser.exit(EXIT_USAGE, "kepler: error: --served needs --workspace DIR\n")
    try:
        return ServedWorkspace(args.workspace, args.data_dir, web=args.served == "web")
    except WorkspaceError as exc:
        parser.exit(EXIT_USAGE, f"kepler: error: {exc}\n")


# ---------------------------------------------------------------------- headless
class _Interrupted(Exception):
    """Ctrl-C, acted on between two epochs so the run stays whole."""


def _train(args, parser) -> int:
    from engine.lesson.code import default_log_every
    from engine.training.trainer import Trainer

    stdout_users = [option for option, target in (("--save", args.save), ("--export-history", args.export_history))
                    if target == "-"]
    if args.json:
        stdout_users.insert(0, "--json")
    if len(stdout_users) > 1:
        parser.exit(EXIT_USAGE, f"kepler train: error: {stdout_users[0]} and {stdout_users[1]} both write to "
                                f"standard output: give one of them a file name\n")
    for option, target in (("--save", args.save), ("--export-history", args.export_history)):
        problem = _unwritable(target)
        if problem:  # found now, not after a long run
            parser.exit(EXIT_USAGE, f"kepler train: error: {option} {target}: {problem}\n")
    trainer, ghosts, run_epochs = _trainer(args, "kepler train", parser)
    log_every = args.log_every or default_log_every(run_epochs)
    has_val = trainer.split.val.size > 0
    history = []
    # With a file going to stdout, the report goes to stderr: stdout is then that file alone.
    report = sys.stderr if "-" in (args.save, args.export_history) else sys.stdout
    interrupt = {"asked": False}

    def on_epoch(t: Trainer) -> None:
        last = t.last_epoch
        if t.epoch % log_every == 0 or not t.can_step:  # and the last epoch (diverged, finished, stopped early)
            history.append({"epoch": last.epoch, "train_loss": last.train_loss, "val_loss": last.val_loss})
            if not args.json:
                if has_val:
                    # The book's lines, as its loop prints them (and `kepler code`'s file):
                    # fixed decimals even when a diverging loss is 1.9e10.
                    print(f"Epoch {last.epoch}, Training loss {last.train_loss:.4f}, "
                          f"Validation loss {last.val_loss:.4f}", file=report)
                else:
                    print(f"Epoch {last.epoch}, Loss {last.train_loss:f}", file=report)
        if interrupt["asked"]:
            raise _Interrupted

    with _ctrl_c_between_epochs(interrupt):
        try:
            trainer.train(run_epochs, on_epoch=on_epoch)
        except _Interrupted:
            pass
        interrupted = interrupt["asked"]
        snapshot = trainer.snapshot()
        if interrupted:
            print(f"Interrupted at epoch {trainer.epoch}: what was reached is reported"
                  f"{' and kept' if args.save or args.export_history else ''}.", file=sys.stderr)
        suggested = None if "load" in args.explicit else _suggestion(trainer)
        _report(args, trainer, snapshot, history, report, interrupted, suggested)
        status = _keep(trainer, ghosts, args, parser)
    return EXIT_INTERRUPTED if interrupted else status


def _code(args, parser) -> int:
    """`kepler code`: the run's PyTorch file, printed or written (atomically, regular files only)."""
    from engine.lesson.code import code_for_trainer
    from engine.training.session import SessionError, write_atomic

    trainer, _, _ = _trainer(args, "kepler code", parser)
    text = code_for_trainer(trainer, log_every=args.log_every)
    if args.output is None or args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(args.output, text)
    except SessionError as exc:
        parser.exit(EXIT_USAGE, f"kepler code: error: --output {exc}\n")
    return 0


def _suggestion(trainer):
    """The built-in dataset's suggested setup (its Try: line), unless this run is that setup.
    A Try line that cannot be used is said on stderr; the run's own report is unaffected."""
    from engine.lesson.suggested import suggestion
    from engine.training.trainer import SettingError

    try:
        tried = suggestion(trainer.setup.dataset)
    except SettingError as exc:
        print(f"kepler train: note: {exc}", file=sys.stderr)
        return None
    if tried is None or (tried.setup, tried.hyper) == (trainer.setup, trainer.hyper):
        return None
    return tried


def _report(args, trainer, snapshot, history, out, interrupted: bool, suggested=None) -> None:
    setup = trainer.setup
    if args.json:
        doc = {
            "config": _config(setup, trainer.hyper),
            "params": {name: _jsonable(value) for name, value in snapshot.params.items()},
            "raw_params": None if snapshot.raw_line is None else {"w": _jsonable(snapshot.raw_line[0]), "b": _jsonable(snapshot.raw_line[1])},
            "history": [{k: _jsonable(v) for k, v in row.items()} for row in history],
            "final": {"epoch": snapshot.epoch, "steps": snapshot.step_count, "train_loss": _jsonable(snapshot.train_loss),
                      "val_loss": _jsonable(snapshot.val_loss), "state": snapshot.state},
            "diverged_at": snapshot.divergence.epoch if snapshot.divergence else None,
            "best_val_epoch": snapshot.best_val_epoch,
            "stopped_at": snapshot.stopped_at,
            "interrupted": interrupted,
            "suggested_setup": None if suggested is None else suggested.setup_string,
        }
        json.dump(doc, out, indent=1, allow_nan=False)
        print(file=out)
        return
    print("Params " + ", ".join(f"{name} {_fmt(value)}" for name, value in snapshot.params.items()), file=out)
    if snapshot.raw_line is not None and setup.input_transform != "none":
        w, b = snapshot.raw_line
        print(f"In raw units ({trainer.transform.describe()}): w {fmt.text(w)}, b {fmt.text(b)}", file=out)
    if trainer.hyper.batch_size is not None:
        steps = snapshot.steps_per_epoch
        print(f"Mini-batches of {trainer.hyper.batch_size}: {steps} step{'s' if steps != 1 else ''} an epoch, "
              f"{snapshot.step_count:,} steps in all (the losses above are each epoch's mean over its batches)",
              file=out)
    if snapshot.divergence is not None:
        print(_divergence_text(snapshot), file=out)
    else:
        from tui.settings import edge_warning

        warning = edge_warning(trainer)  # a loss that swings for good, never settling
        if warning:
            print(f"Note: {warning.replace('lr ', '--lr ')}", file=out)
    if snapshot.stopped_early:
        print(f"Stopped early at epoch {snapshot.stopped_at}: restored epoch {snapshot.best_val_epoch}, the lowest "
              f"validation loss ({fmt.text(snapshot.best_val_loss)}); the parameters above are that epoch's", file=out)
    elif snapshot.overfitting_since is not None:
        print(f"Overfitting since epoch {snapshot.overfitting_since}: validation loss has been rising since "
              f"{fmt.text(snapshot.best_val_loss)} while training loss went on falling", file=out)
    if suggested is not None:
        then = f", then change {suggested.then}" if suggested.then else ""
        print(f"Try: {suggested.command('train')}  ({setup.dataset}'s suggested setup{then})", file=out)


def _config(setup, hyper) -> dict:
    """The run's settings, only those that apply to it (no input scale for raw input, no
    Adam betas for SGD, ...)."""
    s = _jsonable(asdict(setup))
    h = asdict(hyper)
    drop = set()
    if setup.input_transform != "scale":
        drop.add("input_scale")
    if setup.model != "linear":
        drop |= {"init_w", "init_b"}
    if not setup.model.startswith("mlp"):
        drop.add("init_seed")  # the line and the polynomial start where they start, whatever the seed
    if setup.train_indices is None:
        drop |= {"train_indices", "val_indices"}
    if setup.train_indices is not None or setup.val_fraction == 0:
        drop.add("split_seed")  # no shuffle: nothing to seed
    if hyper.batch_size is None:
        drop.add("batch_seed")  # full batches: nothing shuffles
    drop |= {name for name in ("x_column", "y_column") if s[name] is None}
    h_drop = {"momentum", "nesterov"} if hyper.optimizer == "adam" else {"beta1", "beta2"}
    if setup.val_fraction == 0 and setup.train_indices is None:
        h_drop |= {"early_stopping", "overfit_patience"}  # both watch a validation loss there is not
    return {"setup": {k: v for k, v in s.items() if k not in drop},
            "hyperparameters": {k: v for k, v in h.items() if k not in h_drop}}


class _ctrl_c_between_epochs:
    """While training and saving, Ctrl-C asks the run to stop after the current epoch (so
    what is saved is a whole epoch); a second Ctrl-C stops at once."""

    def __init__(self, flag: dict):
        self.flag = flag
        self.previous = None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.flag["asked"]:
            raise KeyboardInterrupt
        self.flag["asked"] = True

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _keep(trainer, ghosts, args, parser) -> int:
    """--save and --export-history, after the run (their messages go to stderr, so that
    --json's stdout stays one document). `-` writes to standard output."""
    from engine.training.session import SessionError, export_history_csv, history_csv, save_session, session_json

    try:
        if args.save == "-":
            sys.stdout.write(session_json(trainer, ghosts))
            sys.stdout.flush()
        elif args.save:
            path = save_session(trainer, args.save, ghosts)
            print(f"Session saved to {path} (continue it with --load)", file=sys.stderr)
        if args.export_history == "-":
            sys.stdout.write(history_csv(trainer))
            sys.stdout.flush()
        elif args.export_history:
            path = export_history_csv(trainer, args.export_history)
            print(f"Loss history written to {path}", file=sys.stderr)
    except SessionError as exc:
        parser.exit(EXIT_USAGE, f"kepler train: error: {exc}\n")
    return 0


def _unwritable(target: str | None) -> str | None:
    """Why a file cannot be written at `target` (None: it probably can; `-` is stdout)."""
    if not target or target == "-":
        return None
    from engine.training.session import target_problem

    problem = target_problem(target)
    if problem and "not a regular file" in problem:
        problem += " (- writes to standard output)"
    return problem


def _divergence_text(snapshot) -> str:
    from tui.settings import edge_of_stability, lopsided_gradients

    d, setup = snapshot.divergence, snapshot.setup
    text = f"Diverged at epoch {d.epoch}: {d.reason}."
    ratio = lopsided_gradients(snapshot)
    edge = edge_of_stability(snapshot)
    if ratio:
        hi, lo, r = ratio
        text += f" The gradient for {hi} was {fmt.text(r, 0)}x the one for {lo}, so every step overshot."
    elif edge is not None:
        text += (f" The step was too large for the loss's curvature: above lr {edge:.2g} (2 / the largest "
                 f"curvature, for this input) every step overshoots.")
    else:
        text += " The step was too large for the loss's curvature, so every step overshot."
    if setup.input_transform == "none":
        return text + " Try a smaller --lr, --input-scale 0.1 (instead of --raw), or --optimizer adam."
    return text + " Try a smaller --lr, --standardize, or --optimizer adam."


def _fmt(value) -> str:
    import numpy as np

    a = np.asarray(value)
    if a.ndim == 0:
        v = float(a)
        return fmt.text(v)
    # An array (a polynomial's coefficients, a layer's weights): numpy's layout, on one line,
    # a big one summarised with "...".
    text = np.array2string(a, precision=4, separator=", ", max_line_width=10_000, threshold=8)
    return " ".join(text.split())


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
