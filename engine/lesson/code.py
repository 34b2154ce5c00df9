"""The code behind the run: one self-contained Python file, in chapter 5's own style, that
reproduces a Kepler run with PyTorch.

The file holds the data (inline, or read from the user's file when it is large), the input
transform, the model as the chapter writes it, the loss, the optimizer from `torch.optim`
with every setting that applies, the split, and the loop printing the lines `kepler train`
prints. It imports torch in one line, and says in a comment that `import engine as torch`
runs it on Kepler's own engine instead.

Where Kepler's trainer and the file do the same arithmetic (same ops, same order, float32)
they print the same numbers: the MLP, whose modules are the same. The line and the
polynomial are written as the chapter writes them (`w * t_u + b`), not as Kepler's fused
nodes compute them, so their sums run in another order and the printed losses can differ
in the last digits (a relative 1e-5 or so after thousands of epochs).

Every number that decides the run is computed here the way the trainer computes it, then
written into the file: the split's indices (numpy's seeded permutation), the mean and
standard deviation of a standardised input (float64, over the training points), the MLP's
initial weights (drawn in the file from numpy's generator under the same seed, in the
order Kepler draws them). With a batch size the file shuffles as the trainer does: its own
`np.random.default_rng(batch_seed)`, one `rng.permutation(n)` per epoch, batches taken in
that order, the epoch's loss the mean of its batch losses (added up in the same order).

The file is built from small sections (`_data`, `_split`, `_transform`, `_model`,
`_optimizer`, `_loop`), each a list of lines, so a new setting (a batch size) is one more
section or a few more lines in `_loop`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..training.models import parse_model
from ..training.trainer import Hyperparameters, Setup, Trainer, make_split

# Up to this many points the data is written into the file; above, the file reads it.
INLINE_POINTS = 1000
LINE_WIDTH = 88


def default_log_every(epochs: int) -> int:
    """Which epochs `kepler train` prints by default: every one up to 100, else a tenth."""
    return 1 if epochs <= 100 else max(1, epochs // 10)


@dataclass(frozen=True)
class _Run:
    """What the sections need to know, worked out once."""

    setup: Setup
    hyper: Hyperparameters
    dataset: object  # data.Dataset
    kind: str  # linear | poly | mlp
    size: int  # the polynomial's degree, the MLP's hidden units
    train: np.ndarray
    val: np.ndarray
    epochs: int
    log_every: int

    @property
    def has_val(self) -> bool:
        return self.val.size > 0

    @property
    def batched(self) -> bool:
        return self.hyper.batch_size is not None

    @property
    def everything(self) -> bool:
        """No split: the run trains on every point in their order."""
        return not self.has_val and np.array_equal(self.train, np.arange(len(self.dataset)))


def python_code(setup: Setup, hyper: Hyperparameters, dataset, log_every: int | None = None,
                epochs: int | None = None) -> str:
    """The Python file that reproduces the run `setup` and `hyper` define on `dataset` (a
    data.Dataset: the points the trainer holds, edited ones included), printing every
    `log_every` epochs (default: as `kepler train` does) for `epochs` epochs (default: the
    budget). SettingError for a setup the trainer would refuse."""
    setup, hyper = setup.validate(), hyper.validate()
    epochs = hyper.epochs if epochs is None else int(epochs)
    split = make_split(setup, len(dataset))
    kind, size = parse_model(setup.model)
    run = _Run(setup, hyper, dataset, kind, size, np.asarray(split.train), np.asarray(split.val), epochs,
               log_every or default_log_every(epochs))
    sections = [_header(run), _imports(run), _data(run), _transform(run), _split(run), _model(run),
                _loss(run), _optimizer(run), _batches(run), _loop(run), _result(run)]
    text = ""
    for lines in filter(None, sections):
        if text:  # PEP 8: two blank lines around a top-level function
            text += "\n\n\n" if lines[0].startswith("def ") or text.rstrip().split("\n")[-1].startswith("    ") else "\n\n"
        text += "\n".join(lines)
    return text + "\n"


def code_for_trainer(trainer: Trainer, log_every: int | None = None) -> str:
    """The file for a trainer's run (its settings and the points it holds), from the start."""
    return python_code(trainer.setup, trainer.hyper, trainer.dataset, log_every=log_every)


# ---------------------------------------------------------------------- sections
def _header(run: _Run) -> list[str]:
    s, h = run.setup, run.hyper
    what = {"linear": "the line t_p = w * t_u + b", "poly": f"a polynomial of degree {run.size}",
            "mlp": f"a 1-{run.size}-1 tanh network"}[run.kind]
    batches = f", mini-batches of {h.batch_size}" if run.batched else ""
    lines = [
        f'"""Kepler\'s run as PyTorch code: {what} on {_dataset_title(run)},',
        f"{h.optimizer.upper()} at lr {h.learning_rate:g}, {run.epochs} epochs{batches}.",
        "",
        "Written by `kepler code` in the style of chapter 5 of Deep Learning with PyTorch; it prints",
        "the lines `kepler train` prints for the same options.",
    ]
    if s.dtype == "float64":
        lines.append("It computes in float64, as the run does.")
    if h.early_stopping:
        lines += ["", "Early stopping is not written out: this file trains for the whole budget."]
    lines.append('"""')
    return lines


def _imports(run: _Run) -> list[str]:
    lines = ["import math", ""]
    if run.kind == "mlp" or run.batched:
        lines = ["import math", "", "import numpy as np"]
    lines.append("import torch  # `import engine as torch` runs this same file on Kepler's own engine")
    if run.setup.dtype == "float64":
        lines += ["", "torch.set_default_dtype(torch.float64)  # the run's dtype: every tensor below is float64"]
    return lines


def _data(run: _Run) -> list[str]:
    d = run.dataset
    names = [label if label == book else f"{label} (t_u)" if book == "t_u" else f"{label} (t_c)"
             for label, book in ((d.x_label, "t_u"), (d.y_label, "t_c"))]
    lines = [f"# The data: {_dataset_title(run)}, {len(d)} points, {names[0]} and {names[1]}."]
    if len(d) <= INLINE_POINTS:
        lines += _list_literal("t_c", d.y) + _list_literal("t_u", d.x)
    else:
        lines += _file_reader(run)
    if run.kind == "mlp":
        lines += ["# nn.Linear takes a batch of rows of one feature each: shape [N, 1], as chapter 6 does.",
                  "t_c = torch.tensor(t_c).unsqueeze(1)", "t_u = torch.tensor(t_u).unsqueeze(1)"]
    else:
        lines += ["t_c = torch.tensor(t_c)", "t_u = torch.tensor(t_u)"]
    return lines


def _file_reader(run: _Run) -> list[str]:
    """Read the file as Kepler does: blank and # lines skipped, a header row skipped, the
    chosen columns, decimal commas where the separator is not a comma."""
    from data.loader import _column_index, _read_table, file_path  # data imports numpy only

    path = file_path(run.setup.dataset).resolve()
    table = _read_table(path)
    xi = _column_index(run.setup.x_column, table.header, table.width_line, table.width, table.where, "x", 0)
    yi = _column_index(run.setup.y_column, table.header, table.width_line, table.width, table.where, "y", 1)
    first = table.rows[0][0]
    return [
        "import csv",
        "",
        "",
        "def number(cell):",
        "    cell = cell.strip()",
        f"    return float(cell.replace(',', '.') if {table.delimiter != ','!r} else cell)",
        "",
        "",
        f"with open({str(path)!r}, encoding='utf-8-sig') as f:",
        f"    lines = f.read().splitlines()[{first - 1}:]  # the data rows start at line {first}",
        "rows = csv.reader([line for line in lines if line.strip() and not line.strip().startswith('#')],",
        f"                  delimiter={table.delimiter!r})",
        "t_u, t_c = [], []",
        "for cells in rows:",
        f"    t_u.append(number(cells[{xi}]))",
        f"    t_c.append(number(cells[{yi}]))",
    ]


def _transform(run: _Run) -> list[str]:
    s = run.setup
    if s.input_transform == "scale":
        return [f"t_un = {_num(s.input_scale)} * t_u  # the normalised input, as the book's t_un = 0.1 * t_u"]
    if s.input_transform == "standardize":
        transform = Trainer._make_transform(s, run.dataset.x[run.train])
        std = 1.0 / transform.scale
        return [
            "# Standardised input: the mean and standard deviation of the training readings, computed",
            "# in float64 as Kepler does; multiplying by 1 / std (not dividing) rounds as Kepler does.",
            f"t_mean = {_num(transform.shift)}",
            f"t_std = {_num(std)}" if transform.scale != 1.0 else "t_std = 1.0  # every reading is the same",
            f"t_un = (t_u - t_mean) * {_num(transform.scale)}  # = 1 / t_std",
        ]
    return ["t_un = t_u  # the raw readings, not normalised (the book's first run)"]


def _split(run: _Run) -> list[str]:
    s = run.setup
    if run.everything:
        return ["# No validation split: every point trains (the chapter's first runs).",
                "train_t_u, train_t_c = t_un, t_c"]
    if s.train_indices is not None:
        lines = ["# The split, as given (the book's printed one, or yours)."]
    else:
        n_val = run.val.size
        lines = [f"# The split: Kepler shuffles the {len(run.dataset)} points with numpy's "
                 f"default_rng({s.split_seed}).permutation(n),",
                 f"# and the last {n_val} (int({s.val_fraction:g} * n)) validate. These are its indices, in its order."]
    lines += _list_literal("train_indices", run.train, "torch.tensor")
    lines += ["train_t_u, train_t_c = t_un[train_indices], t_c[train_indices]"]
    if run.has_val:
        lines += _list_literal("val_indices", run.val, "torch.tensor")
        lines += ["val_t_u, val_t_c = t_un[val_indices], t_c[val_indices]"]
    return lines


def _model(run: _Run) -> list[str]:
    s = run.setup
    if run.kind == "linear":
        return ["def model(t_u, w, b):", "    return w * t_u + b", "", "",
                f"params = torch.tensor([{_num(float(s.init_w))}, {_num(float(s.init_b))}], requires_grad=True)"]
    if run.kind == "poly":
        terms = ["w[0] * t_u"] + [f"w[{k - 1}] * t_u ** {k}" for k in range(2, run.size + 1)]
        body = " + ".join(terms + ["b"])
        lines = ["def model(t_u, w, b):"]
        lines += _wrapped(f"    return {body}", "           ")
        return lines + ["", "",
                        f"params = [torch.zeros({run.size}, requires_grad=True),  # w: every coefficient starts at 0",
                        "          torch.tensor(0.0, requires_grad=True)]  # b"]
    h = run.size
    return [
        "model = torch.nn.Sequential(",
        f"    torch.nn.Linear(1, {h}),",
        "    torch.nn.Tanh(),",
        f"    torch.nn.Linear({h}, 1))",
        "",
        "# Kepler's initial weights: PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every",
        f"# weight and bias, drawn from numpy's generator seeded with {s.init_seed}, layer by layer.",
        f"rng = np.random.default_rng({s.init_seed})",
        "with torch.no_grad():",
        "    for layer in (model[0], model[2]):",
        "        bound = 1 / math.sqrt(layer.in_features)",
        "        layer.weight.copy_(torch.tensor(rng.uniform(-bound, bound, size=tuple(layer.weight.shape))))",
        "        layer.bias.copy_(torch.tensor(rng.uniform(-bound, bound, size=tuple(layer.bias.shape))))",
        "params = list(model.parameters())",
    ]


def _loss(run: _Run) -> list[str]:
    return ["def loss_fn(t_p, t_c):",
            "    # the chapter's ((t_p - t_c)**2).mean(), in one call (as Kepler computes it)",
            "    return torch.nn.functional.mse_loss(t_p, t_c)"]


def _optimizer(run: _Run) -> list[str]:
    h = run.hyper
    target = "[params]" if run.kind == "linear" else "params"
    options = [f"lr={_num(h.learning_rate)}"]
    if h.optimizer == "adam":
        options.append(f"betas=({_num(h.beta1)}, {_num(h.beta2)})")
        name = "Adam"
    else:
        name = "SGD"
        if h.momentum:
            options.append(f"momentum={_num(h.momentum)}")
        if h.nesterov:
            options.append("nesterov=True")
    if h.weight_decay:
        options.append(f"weight_decay={_num(h.weight_decay)}")
    return [f"optimizer = torch.optim.{name}({target}, {', '.join(options)})"]


def _batches(run: _Run) -> list[str]:
    if not run.batched:
        return []
    size, n = run.hyper.batch_size, run.train.size
    steps = -(-n // size)
    last = ", the last one smaller" if n % size and steps > 1 else ""
    return ["# Mini-batches, as Kepler takes them: every epoch shuffles the training points with",
            "# numpy's generator (seeded as Kepler seeds it) and takes one optimizer step per batch",
            f"# of {size}{last}: ceil({n} / {size}) = {steps} step{'s' if steps != 1 else ''} an epoch.",
            f"batch_size = {size}",
            f"rng = np.random.default_rng({run.setup.batch_seed})"]


def _forward(run: _Run) -> str:
    return {"linear": "model({}, *params)", "poly": "model({}, *params)", "mlp": "model({})"}[run.kind]


def _loop(run: _Run) -> list[str]:
    if run.batched:
        return _batch_loop(run)
    forward = _forward(run)
    lines = [f"n_epochs = {run.epochs}",
             f"log_every = {run.log_every}",
             "for epoch in range(1, n_epochs + 1):",
             f"    t_p = {forward.format('train_t_u')}",
             "    loss = loss_fn(t_p, train_t_c)"]
    if run.has_val:
        lines += ["    with torch.no_grad():  # the validation loss, at the same parameters, without a graph",
                  f"        val_t_p = {forward.format('val_t_u')}",
                  "        val_loss = loss_fn(val_t_p, val_t_c)"]
    lines.append("    optimizer.zero_grad()" if run.hyper.zero_grad else
                 "    # no optimizer.zero_grad(): the gradients accumulate from epoch to epoch (the classic bug)")
    lines += ["    loss.backward()",
              "    optimizer.step()",
              "",
              "    diverged = not math.isfinite(loss.item())",
              "    if epoch % log_every == 0 or epoch == n_epochs or diverged:"]
    if run.has_val:
        lines += ['        print(f"Epoch {epoch}, Training loss {loss.item():.4f}, "',
                  '              f"Validation loss {val_loss.item():.4f}")']
    else:
        lines.append('        print(f"Epoch {epoch}, Loss {loss.item():f}")')
    lines += ["    if diverged:",
              '        print("The loss is no longer a finite number: training diverged.")',
              "        break"]
    return lines


def _batch_loop(run: _Run) -> list[str]:
    forward = _forward(run)
    lines = [f"n_epochs = {run.epochs}",
             f"log_every = {run.log_every}",
             "for epoch in range(1, n_epochs + 1):"]
    if run.has_val:
        lines += ["    with torch.no_grad():  # the validation loss, once an epoch, at the parameters it starts from",
                  f"        val_t_p = {forward.format('val_t_u')}",
                  "        val_loss = loss_fn(val_t_p, val_t_c)"]
    lines += ["    order = rng.permutation(len(train_t_u))  # a new shuffle every epoch",
              "    epoch_loss, n_batches = 0.0, 0",
              "    for start in range(0, len(order), batch_size):",
              "        batch = order[start:start + batch_size]",
              f"        t_p = {forward.format('train_t_u[batch]')}",
              "        loss = loss_fn(t_p, train_t_c[batch])  # the mean over this batch"]
    lines.append("        optimizer.zero_grad()" if run.hyper.zero_grad else
                 "        # no optimizer.zero_grad(): the gradients accumulate from step to step (the classic bug)")
    lines += ["        loss.backward()",
              "        optimizer.step()",
              "        epoch_loss += loss.item()",
              "        n_batches += 1",
              "        if not math.isfinite(loss.item()):",
              "            break  # diverged: the rest of the epoch would only compute NaN",
              "    train_loss = epoch_loss / n_batches  # the epoch's loss: the mean of its batch losses",
              "",
              "    diverged = not math.isfinite(train_loss)",
              "    if epoch % log_every == 0 or epoch == n_epochs or diverged:"]
    if run.has_val:
        lines += ['        print(f"Epoch {epoch}, Training loss {train_loss:.4f}, "',
                  '              f"Validation loss {val_loss.item():.4f}")']
    else:
        lines.append('        print(f"Epoch {epoch}, Loss {train_loss:f}")')
    lines += ["    if diverged:",
              '        print("The loss is no longer a finite number: training diverged.")',
              "        break"]
    return lines


def _result(run: _Run) -> list[str]:
    if run.kind == "linear":
        return ["w, b = params.tolist()", 'print(f"Params w {w:.4f}, b {b:.4f}")']
    if run.kind == "poly":
        return ["w, b = params",
                'print("Params w", [round(v, 4) for v in w.tolist()], f"b {b.item():.4f}")']
    return ["for name, p in model.named_parameters():",
            '    print("Params", name, [round(v, 4) for v in p.detach().reshape(-1).tolist()])']


# ---------------------------------------------------------------------- writing values
def _dataset_title(run: _Run) -> str:
    return getattr(run.dataset, "title", run.setup.dataset)


def _num(value) -> str:
    """A number as Python reads it back exactly (repr round-trips a float64)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return repr(value)


def _list_literal(name: str, values, call: str = "") -> list[str]:
    """`name = [v, v, ...]`, or `name = call([v, ...])`, folded at LINE_WIDTH."""
    items = [_num(v) for v in np.asarray(values).tolist()]
    head = f"{name} = {call}{'(' if call else ''}["
    close = "]" + (")" if call else "")
    text = head + ", ".join(items) + close
    if len(text) <= LINE_WIDTH:
        return [text]
    indent = " " * len(head)
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else close)
        if len(line) + len(piece) > LINE_WIDTH and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    lines.append(line.rstrip())
    return lines


def _wrapped(text: str, indent: str) -> list[str]:
    """A long expression folded before ' + ', in parentheses."""
    if len(text) <= LINE_WIDTH:
        return [text]
    prefix, body = text.split("return ", 1)
    terms = body.split(" + ")
    lines, line = [], prefix + "return (" + terms[0]
    for term in terms[1:]:
        if len(line) + len(term) + 3 > LINE_WIDTH:
            lines.append(line)
            line = indent + " + " + term
        else:
            line += " + " + term
    lines.append(line + ")")
    return lines
