"""Backprop, one node at a time: the graph of the training loss and its backward pass, step by step.

`loss.backward()` is one call; this module takes it apart. It builds the loss at the run's
current parameters with the engine's own ops, reads the graph those ops record (each result
tensor keeps its inputs, `_parents`, and a backward function, `_backward`, named as PyTorch
names its `grad_fn`), and then runs the backward pass itself, one node at a time, in the
order the engine's `backward()` runs it (a topological order from the loss down: every node
after all the nodes that use it). At each node it records

- the gradient arriving from above, dL/d(node), the sum of what the nodes using it sent;
- its local derivative, d(node)/d(input), for each input (the chain rule's other factor);
- what it sends to each input: the node's own backward function applied to the incoming
  gradient (a vector-Jacobian product: incoming x local, summed back over the points where
  an input was broadcast);
- for a parameter (a leaf), its `.grad` before and after: `.grad` *accumulates*, so with
  the trainer's zero_grad switch off the old gradient is still there and is added to.

The line is built as the chapter writes it, `((w * x + b - y) ** 2).mean()`, so every op is
a node (MulBackward0, AddBackward0, SubBackward0, PowBackward0, MeanBackward0); its
gradients are, bit for bit, the ones the trainer's fused nodes compute. The polynomial and
the MLP are the trainer's own models: a layer `x W^T + b` is one node there (AddmmBackward0),
as in PyTorch's nn.Linear, and the mean squared error is one node (MseLossBackward0).

A `BackpropWalk` works on a copy of the trainer taken at one moment: the run goes on (or
not) without it. Each `Pass` is one epoch as the trainer will run it: zero_grad (or not),
forward, backward; the next pass starts after the optimizer's step. Beside each pass it keeps
what the trainer itself computes there (its `.grad` after the same epoch, what the
Parameters table shows after it) and the gradient check at the same parameters, so a screen
can show they agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .. import ops
from ..tensor import Tensor, _accumulate, _topological_order
from ..training.models import MLP, Line, Polynomial
from .gradcheck import GradientChecks, check_gradients

# What each op computes and its local derivative, per input, in words. {0}, {1}: the inputs'
# names. The numbers come from `local_derivative` and, for what is sent, from the op's own
# backward function.
OP_WORDS = {
    "MulBackward0": ("{0} * {1}", ("× {1}", "× {0}")),
    "AddBackward0": ("{0} + {1}", ("× 1", "× 1")),
    "SubBackward0": ("{0} - {1}", ("× 1", "× (-1)")),
    "PowBackward0": ("{0} ** {p}", ("× {p}·{0}",)),
    "MeanBackward0": ("mean({0})", ("× 1/{n}",)),
    "MseLossBackward0": ("mean(({0} - {1})**2)", ("× 2({0} - {1})/{n}", "× (-2)({0} - {1})/{n}")),
    "TanhBackward0": ("tanh({0})", ("× (1 - tanh²)",)),
    "AddmmBackward0": ("{0} @ {1}ᵀ + {2}", ("@ {1}", "gradᵀ @ {0}", "summed over the points")),
    "ViewBackward0": ("{0} as a vector", ("reshaped back",)),
    "UnsqueezeBackward0": ("{0} as a row", ("reshaped back",)),
}


@dataclass(frozen=True)
class GraphNode:
    """One tensor of the loss's graph: an op's result or a leaf (a parameter or data)."""

    key: int  # its place in `Pass.nodes`
    name: str  # a short name: `t_p`, `w`, `hidden_linear.weight`, `loss`
    grad_fn: str | None  # the op that made it, as PyTorch names its grad_fn; None for a leaf
    kind: str  # "op", "parameter" or "data"
    formula: str  # what it is in terms of its inputs: `t_p - y`
    words: str  # the same in plain words: "the error"
    value: np.ndarray  # its forward value (see `kept`: the first values only of a big array)
    shape: tuple  # the value's shape
    inputs: tuple[int, ...] = ()  # the nodes it was computed from, in the op's order
    parameter: str = ""  # a parameter's name in the model (`hidden_linear.weight`)


@dataclass(frozen=True)
class Sent:
    """What one backward step hands to one input."""

    to: int  # the input's node key
    local: str  # the local derivative in words: "× x"
    local_value: np.ndarray | None  # its numbers, where it is elementwise (None: a matrix product)
    gradient: np.ndarray | None  # dL/d(input) (see `kept`); None for data, which needs no gradient
    shape: tuple  # the input's shape
    summed: bool = False  # the input was broadcast: the products were summed back to its shape
    grad_before: np.ndarray | None = None  # a parameter's .grad before (None: no .grad yet)
    grad_after: np.ndarray | None = None  # and after this step added to it


@dataclass(frozen=True)
class BackwardStep:
    node: int
    incoming: np.ndarray  # dL/d(node) (see `kept`)
    shape: tuple  # the node's shape
    sent: tuple[Sent, ...]


@dataclass(frozen=True)
class Pass:
    """One epoch as the trainer runs it: zero_grad (or not), the forward graph, the backward steps."""

    epoch: int  # the epoch this pass is (the trainer's epoch count after it)
    model: str  # the setup's model: linear, poly:K, mlp:H
    nodes: tuple[GraphNode, ...]
    root: int
    steps: tuple[BackwardStep, ...]
    zero_grad: bool
    params: dict  # name -> value, the parameters this pass is at
    grad_before: dict  # name -> .grad before the backward pass (None: zeroed, or none yet)
    added: dict  # name -> what this backward pass added to .grad (the gradient of this loss)
    grads: dict  # name -> .grad after the pass
    trainer_grads: dict  # name -> .grad after the trainer's own epoch (the Parameters table's "last grad")
    at: object  # a copy of the run as this pass found it (for the gradient check)
    learning_rate: float
    optimizer: str
    note: str = ""  # what is grouped, for models that group

    @cached_property
    def gradient_check(self) -> GradientChecks:
        """The gradient check at these parameters, as `g` makes it (the same elements); made
        when first asked for: its finite differences cost two forward passes per element."""
        with np.errstate(all="ignore"):  # a diverged run's loss is inf: shown, not warned about
            return check_gradients(self.at, max_elements=8 if self.model == "linear" else 2)

    @property
    def loss(self) -> float:
        return float(self.nodes[self.root].value)

    def order(self) -> list[str]:
        """The grad_fn names in the order the backward pass runs them."""
        return [self.nodes[s.node].grad_fn for s in self.steps]

    def grads_ready_order(self) -> list[str]:
        """The parameters in the order their .grad is complete (each gets all it will get)."""
        done: list[str] = []
        for step in self.steps:
            for sent in step.sent:
                node = self.nodes[sent.to]
                if node.kind == "parameter" and node.parameter not in done:
                    done.append(node.parameter)
        return done


KEEP = 65536  # up to this many numbers an array is kept whole; of a bigger one, its first HEAD
HEAD = 16


def kept(a: np.ndarray) -> np.ndarray:
    """A copy of `a` to show: the whole array, or (past KEEP numbers) its first HEAD values,
    flattened, so a walk over a big data set or a wide layer stays small."""
    a = np.asarray(a)
    return a.copy() if a.size <= KEEP else a.reshape(-1)[:HEAD].copy()


def local_derivative(op: str, inputs: list[np.ndarray], out: np.ndarray, power: float) -> list[np.ndarray | None]:
    """d(out)/d(input) for each input of an elementwise op (None where it is a matrix product
    or a reshape: the step's words say what happens there)."""
    one = np.ones((), dtype=out.dtype)
    if op == "MulBackward0":
        return [inputs[1], inputs[0]]
    if op == "AddBackward0":
        return [one, one]
    if op == "SubBackward0":
        return [one, -one]
    if op == "PowBackward0":
        return [(power * inputs[0] ** (power - 1)).astype(out.dtype)]
    if op == "MeanBackward0":
        return [np.asarray(1 / inputs[0].size, dtype=out.dtype)]
    if op == "MseLossBackward0":
        diff = inputs[0] - inputs[1]
        return [(2 * diff / diff.size).astype(out.dtype), (-2 * diff / diff.size).astype(out.dtype)]
    if op == "TanhBackward0":
        return [1 - out * out]
    return [None] * len(inputs)


def _power(tensor: Tensor) -> float:
    """The exponent of a PowBackward0 node, read from its backward function (2 for a square)."""
    fn = tensor._backward
    while fn is not None and fn.__closure__:
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__))
        if "exponent" in cells:
            return float(cells["exponent"].cell_contents)
        fn = cells["backward"].cell_contents if "backward" in cells else None  # inside a wrapper (_quiet)
    return 2.0


def _graph(loss: Tensor, named: dict[int, tuple[str, str, str]],
           parameters: dict[int, str]) -> tuple[list[GraphNode], dict[int, int]]:
    """The nodes under `loss`, each before its inputs (level by level, in each op's input order).

    `named`: id(tensor) -> (name, kind, words) for the tensors a reader knows by name."""
    nodes: list[GraphNode] = []
    keys: dict[int, int] = {}
    pending: list[tuple[Tensor, int]] = []

    def add(t: Tensor) -> int:
        if id(t) in keys:
            return keys[id(t)]
        key = len(nodes)
        keys[id(t)] = key
        nodes.append(None)  # filled below, once its inputs have keys
        pending.append((t, key))
        return key

    add(loss)
    counter = {"op": 0}
    powers: dict[int, float] = {}
    while pending:
        t, key = pending.pop(0)
        name, kind, words = named.get(id(t), ("", "", ""))
        if t._backward is None or t._parents is None:  # a leaf
            kind = kind or ("parameter" if t.requires_grad else "data")
            nodes[key] = GraphNode(key, name or "data", None, kind, name or "data", words, kept(t.data),
                                   t.data.shape, parameter=parameters.get(id(t), ""))
            continue
        inputs = tuple(add(p) for p in t._parents)
        if t._op == "PowBackward0":
            powers[key] = _power(t)
        counter["op"] += 1
        nodes[key] = GraphNode(key, name or f"v{counter['op']}", t._op, "op", "", words, kept(t.data), t.data.shape,
                               inputs)
    # formulas, now that every node has a name
    for node in nodes:
        if node.kind != "op":
            continue
        template = OP_WORDS.get(node.grad_fn, (node.grad_fn.replace("Backward0", "") + "(" +
                                               ", ".join("{%d}" % i for i in range(len(node.inputs))) + ")", ()))[0]
        names = [nodes[i].name for i in node.inputs]
        formula = template.format(*names, p=f"{powers.get(node.key, 2.0):g}")
        nodes[node.key] = GraphNode(node.key, node.name, node.grad_fn, "op", formula, node.words, node.value,
                                    node.shape, node.inputs)
    return nodes, keys


def _build_loss(trainer) -> tuple[Tensor, dict[int, tuple[str, str, str]], dict[str, Tensor], str]:
    """The training loss at the trainer's parameters as a graph of engine ops, the names a
    reader knows its tensors by, the parameters by name, and a note on what is grouped."""
    model = trainer.model
    x_train, y_train = trainer.training_data()
    x, y = Tensor(x_train), Tensor(y_train)
    params = dict(model.named_parameters())
    named = {id(x): ("x", "data", "the input"), id(y): ("y", "data", "the target: measured values")}
    for name, p in params.items():
        named[id(p)] = (name, "parameter", "a parameter")
    if isinstance(model, Line):
        # The chapter's own expression: one node per op, as PyTorch records it.
        w, b = params["w"], params["b"]
        wx = w * x
        t_p = wx + b
        error = t_p - y
        square = error ** 2
        loss = square.mean()
        named[id(wx)] = ("wx", "op", "w times each input")
        named[id(t_p)] = ("t_p", "op", "the prediction")
        named[id(error)] = ("err", "op", "the error")
        named[id(square)] = ("sq", "op", "the squared error")
        named[id(loss)] = ("loss", "op", "the loss: mean squared error")
        return loss, named, params, ""
    prediction = model(x)
    loss = ops.mse_loss(prediction, y)
    named[id(loss)] = ("loss", "op", "the loss: mean squared error")
    named[id(prediction)] = ("t_p", "op", "the prediction, as a vector")
    if isinstance(model, Polynomial):
        features = model.features(x)
        named[id(features)] = ("xᵏ", "data", f"x, x², … x^{model.degree}: data, no gradient")
        layer = prediction._parents[0]
        named[id(layer)] = ("terms", "op", "b + w₁x + … (one node)")
        w_row, b_row = layer._parents[1], layer._parents[2]
        named[id(w_row)] = ("w_row", "op", "w as a row")
        named[id(b_row)] = ("b_row", "op", "b as a row")
        note = (f"Grouped: the {model.degree} terms w_k x^k and b are one node (AddmmBackward0, a matrix "
                "product plus b); the powers of x are data.")
        return loss, named, params, note
    if isinstance(model, MLP):
        output = prediction._parents[0]
        named[id(output)] = ("out", "op", "output layer (one node)")
        hidden = output._parents[0]
        named[id(hidden)] = ("h", "op", "hidden activations: tanh")
        pre = hidden._parents[0]
        named[id(pre)] = ("z", "op", "hidden layer (one node)")
        column = pre._parents[0]
        named[id(column)] = ("x", "data", "the input, as a column")
        for name, short, words in (("hidden_linear.weight", "W₁", "hidden weights (hidden.w)"),
                                   ("hidden_linear.bias", "b₁", "hidden biases (hidden.b)"),
                                   ("output_linear.weight", "W₂", "output weights (output.w)"),
                                   ("output_linear.bias", "b₂", "output bias (output.b)")):
            named[id(params[name])] = (short, "parameter", words)
        note = ("Grouped: each layer x Wᵀ + b is one node (AddmmBackward0), as PyTorch's nn.Linear makes "
                "it (PyTorch adds a TBackward0 node for the transposed W).")
        return loss, named, params, note
    return loss, named, params, ""


def copy_run(trainer):
    """A trainer that continues exactly where `trainer` is (parameters, .grad, optimizer
    state, history...), sharing nothing it could change: the session files' round trip."""
    return type(trainer).from_state(trainer.setup, trainer.hyper, trainer.state_dict(), dataset=trainer.dataset)


def _walk(trainer, epoch: int) -> tuple[Pass, object]:
    """One epoch on a copy of `trainer`, one node at a time; returns the pass and the copy
    after the trainer's own epoch (where the next pass starts)."""
    shadow = copy_run(trainer)
    hyper = shadow.hyper
    if hyper.zero_grad:
        shadow.optimizer.zero_grad()
    loss, named, params, note = _build_loss(shadow)
    names = {id(p): n for n, p in params.items()}
    nodes, keys = _graph(loss, named, names)
    before = {n: None if p.grad is None else p.grad.data.copy() for n, p in params.items()}
    added: dict[str, np.ndarray] = {}

    order, _chain = _topological_order(loss)
    incoming = {id(loss): np.ones_like(loss.data)}
    steps = []
    for tensor in order:
        g = incoming.pop(id(tensor), None)
        if g is None:
            continue
        node = nodes[keys[id(tensor)]]
        inputs = [p.data for p in tensor._parents]
        power = _power(tensor) if tensor._op == "PowBackward0" else 2.0
        locals_ = local_derivative(tensor._op, inputs, tensor.data, power)
        words = OP_WORDS.get(tensor._op, ("", ()))[1]
        parent_grads = tensor._backward(g)  # the op's own backward function
        sent = []
        for i, (parent, pg) in enumerate(zip(tensor._parents, parent_grads)):
            pname = nodes[keys[id(parent)]].name
            names_in = [nodes[keys[id(p)]].name for p in tensor._parents]
            local = (words[i] if i < len(words) else "").format(*names_in, p=f"{power:g}", n=tensor._parents[0].data.size)
            gradient = None if (pg is None or not parent.requires_grad) else np.asarray(pg, dtype=parent.data.dtype)
            summed = gradient is not None and np.size(g) > np.size(gradient) and tensor._op not in (
                "MeanBackward0", "MseLossBackward0", "AddmmBackward0")
            grad_before = grad_after = None
            if gradient is not None and parent._backward is None:  # a parameter: .grad accumulates
                grad_before = None if parent.grad is None else parent.grad.data.copy()
                _accumulate(parent, pg)  # the engine's own accumulation
                grad_after = parent.grad.data.copy()
                name = names[id(parent)]
                added[name] = gradient.copy() if name not in added else added[name] + gradient
            elif gradient is not None:
                prev = incoming.get(id(parent))
                incoming[id(parent)] = pg if prev is None else prev + pg
            sent.append(Sent(keys[id(parent)], local if gradient is not None or parent.requires_grad
                             else local + f" (not needed: {pname} is data)",
                             None if locals_[i] is None else kept(np.asarray(locals_[i])),
                             None if gradient is None else kept(gradient), parent.data.shape, summed,
                             grad_before, grad_after))
        steps.append(BackwardStep(node.key, kept(np.asarray(g)), np.shape(g), tuple(sent)))
    grads = {n: None if p.grad is None else p.grad.data.copy() for n, p in params.items()}
    current = {n: p.data.copy() for n, p in params.items()}

    # The same epoch as the trainer runs it (its fused nodes where it has them): what the
    # Parameters table shows after it. (The gradient check, what `g` shows, comes when asked.)
    after = copy_run(trainer)
    after.advance()
    trainer_grads = {n: None if p.grad is None else p.grad.data.copy() for n, p in after.model.named_parameters()}
    result = Pass(
        epoch=epoch, model=shadow.setup.model, nodes=tuple(nodes), root=keys[id(loss)], steps=tuple(steps),
        zero_grad=hyper.zero_grad, params=current, grad_before=before, added=added, grads=grads,
        trainer_grads=trainer_grads, at=shadow, learning_rate=hyper.learning_rate,
        optimizer=hyper.optimizer, note=note)
    return result, after


@dataclass
class BackpropWalk:
    """Epoch after epoch of a copy of the run, computed as they are asked for.

    `start`: the epoch the run was at when the copy was taken; `state` the run's state then."""

    trainer: object
    start: int = 0
    state: str = ""
    passes: list = field(default_factory=list)
    _next: object = None

    @classmethod
    def of(cls, trainer) -> "BackpropWalk":
        """Copy the run now (call it between two epochs, e.g. through the runner)."""
        return cls(copy_run(trainer), trainer.epoch, trainer.state)

    def pass_(self, index: int) -> Pass:
        """The `index`-th epoch from the copy (0: the next epoch the run would train)."""
        while len(self.passes) <= index:
            source = self.trainer if self._next is None else self._next
            with np.errstate(all="ignore"):  # a diverging run overflows: inf is shown, not warned about
                walked, self._next = _walk(source, self.start + len(self.passes) + 1)
            self.passes.append(walked)
        return self.passes[index]
