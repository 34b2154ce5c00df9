"""The Tensor: a numpy array that remembers how it was made, so gradients can flow back.

Reverse-mode autodiff in one idea: every operation on tensors that require gradients
records its inputs and a *backward* function. The backward function receives dL/d(output)
and returns dL/d(input) for each input (a vector-Jacobian product). `loss.backward()` sorts
the recorded graph topologically once and walks it from the loss back to the leaves,
summing what reaches each tensor; leaves (tensors created by the user with
`requires_grad=True`) add it into `.grad`, which therefore *accumulates* across calls until
it is zeroed, exactly as in PyTorch.

In-place changes are tracked as in PyTorch: every tensor has a version counter (shared with
its views and with `detach()`), bumped by each in-place operation (`+=`, `zero_()`, `t[i] = v`,
... under `no_grad()` too; writes through `.data` are not tracked, as in PyTorch). An op saves the
versions of the tensors its backward function will read, and `backward()` refuses to use a
tensor that has changed since: the gradient it would give is silently wrong.

The operations themselves, each with its derivative, live in `engine/ops.py`.
"""
from __future__ import annotations

import builtins
import numbers
import re
import sys
from typing import Any, Callable, Sequence

import numpy as np

from ._grad_mode import _state as _grad_state

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
# PyTorch-style aliases
float = float32  # noqa: A001 - mirrors torch.float
double = float64
long = int64
bool = bool_  # noqa: A001 - mirrors torch.bool

_builtin_float = builtins.float
_builtin_bool = builtins.bool

_default_dtype = float32

# Arithmetic that leaves the reals (log 0, 1/0, 0/0, exp(1000)) gives -inf, inf or nan, as in
# PyTorch, without numpy's RuntimeWarnings: the ops that take finite inputs there (division,
# log, exp, sqrt, powers, and their gradients) run between `_quiet_set()` and
# `_quiet_reset(token)`, which set numpy's own error-state context variable directly (what
# np.errstate does, at a twentieth of its cost). +, -, * and sums are left alone: they leave
# the reals only by overflowing float32 (a diverging run, whose trainer silences numpy itself),
# and silencing them would cost 0.3 us per op, 8% of the chapter's fused epoch.
try:  # numpy >= 2: the context variable behind np.errstate, set without its Python wrapper
    from numpy._core.umath import _extobj_contextvar, _make_extobj

    _IGNORE_ALL = _make_extobj(all="ignore")

    def _quiet_set():
        return _extobj_contextvar.set(_IGNORE_ALL)

    _quiet_reset = _extobj_contextvar.reset
except ImportError:  # pragma: no cover - a numpy without it: the public, slower way
    def _quiet_set():
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def _quiet_reset(state):
        state.__exit__(None, None, None)


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default_dtype = dtype


def _as_array(data: Any, dtype=None) -> np.ndarray:
    """Convert user data to an ndarray with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    arr = np.array(data)
    kind = arr.dtype.kind
    if kind == "f":
        # Python floats become the default dtype; numpy arrays keep theirs (torch.from_numpy
        # keeps float64, torch.tensor(list_of_floats) gives float32).
        if not isinstance(data, np.ndarray) and not isinstance(data, np.generic):
            arr = arr.astype(_default_dtype)
    elif kind in "iu":
        arr = arr.astype(int64)
    elif kind == "b":
        pass
    else:
        raise TypeError(f"cannot make a tensor from data of type {arr.dtype}")
    return arr


class Tensor:
    """An n-dimensional array with optional gradient tracking (PyTorch's `torch.Tensor`)."""

    # _version_box: the version counter and when it changed (see _bump), shared with views
    # and detach(); None until first needed (most tensors never change in place); _saved: the
    # tensors this node's backward reads (None for its own output); _clock: the in-place clock
    # when the node was recorded.
    __slots__ = ("data", "requires_grad", "grad", "_backward", "_parents", "_op", "_retain",
                 "_version_box", "_saved", "_clock", "__weakref__")
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, data, requires_grad: _builtin_bool = False, dtype=None):
        self.data = data if (isinstance(data, np.ndarray) and dtype is None) else _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._backward: Callable | None = None
        self._parents: tuple = ()
        self._op: str = ""
        self._retain = False
        self._version_box = None
        self._saved = ()
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ graph building
    @classmethod
    def _make(cls, data, parents: tuple, backward: Callable, op: str, saved: tuple = ()) -> "Tensor":
        """Wrap an op's result; record the graph only if some input needs gradients.

        `saved` names the tensors the backward function reads (None stands for the result
        itself): backward() refuses to run if one has changed in place since (see _bump)."""
        out = cls.__new__(cls)
        # numpy returns a scalar (np.float64), not a 0-d array, from ops on 0-d arrays; ops treat
        # numpy scalars as weak Python numbers, so keep tensor data an ndarray to keep its dtype.
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._retain = False
        out._version_box = None
        # This runs for every operation, so it is written for speed: a plain loop that stops
        # at the first input needing gradients (no generator, no function call per input).
        if _grad_state.enabled:
            for p in parents:
                if p.requires_grad:
                    out.requires_grad = True
                    out._backward = backward
                    out._parents = parents
                    out._op = op
                    out._saved = saved
                    if saved:
                        out._clock = _inplace_clock[0]
                    return out
        out.requires_grad = False
        out._backward = None
        out._parents = ()
        out._op = ""
        out._saved = ()
        return out

    def _view_of(self, base: "Tensor") -> "Tensor":
        """Mark this op result as a view of `base`: they share one version counter."""
        self._version_box = _box(base)
        return self

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's data has seen (PyTorch's `_version`)."""
        box = self._version_box
        return 0 if box is None else box[0]

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return Size(self.data.shape)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.data.shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    @property
    def is_leaf(self) -> _builtin_bool:
        return self._backward is None

    @property
    def grad_fn(self):
        return None if self._backward is None else _GradFn(self._op)

    @property
    def device(self) -> str:
        return "cpu"

    def requires_grad_(self, requires_grad: _builtin_bool = True) -> "Tensor":
        if not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = _builtin_bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` on a non-leaf tensor after backward (as PyTorch's retain_grad)."""
        self._retain = True

    # ------------------------------------------------------------------ conversion
    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self.data

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut off from the graph."""
        t = _grad_tensor(self.data)
        t._version_box = _box(self)  # the same data: in-place changes show on both
        return t

    def detach_(self) -> "Tensor":
        self._backward = None
        self._parents = ()
        self._saved = ()
        self.requires_grad = False
        return self

    def __float__(self) -> _builtin_float:
        return _builtin_float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> _builtin_bool:
        if self.data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return _builtin_bool(self.data.reshape(()).item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.data.reshape(()).item())

    def __array__(self, dtype=None, copy=None):
        # numpy casts the result to `dtype` itself when it differs
        return self.data.copy() if copy else self.data

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    # ------------------------------------------------------------------ in-place
    # An in-place op writes into this tensor's array (so every view of it sees the change) and
    # bumps the version counter. When the graph is recorded and gradients are involved, the
    # tensor also takes the new op as its history, as in PyTorch: the op is computed out of
    # place from a stand-in for the old value (`_before_inplace`), and the result is copied in.
    # The stand-in holds a copy of the old values (PyTorch's `original_self`), so the new op's
    # backward may read them; the old history still shares the counter, so an op that saved
    # the old tensor itself (exp saves its result) refuses to run on the changed one.
    def _check_inplace(self) -> None:
        if self.requires_grad and self.is_leaf and _grad_state.enabled:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation "
                "(wrap parameter updates in `with no_grad():`)"
            )
        if not isinstance(self.data, np.ndarray):
            self.data = np.asarray(self.data)

    def _records_inplace(self, other=None) -> _builtin_bool:
        return _grad_state.enabled and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))

    def _before_inplace(self) -> "Tensor":
        """A tensor standing for this one before an in-place op: its old values, its counter and
        its history."""
        old = _grad_tensor(self.data.copy())
        old._version_box = _box(self)
        old.requires_grad = self.requires_grad
        old._backward = self._backward
        old._parents = self._parents
        old._op = self._op
        old._saved = self._saved
        if self._saved:
            old._clock = self._clock
        return old

    def _take_result(self, result: "Tensor", old: "Tensor | None" = None) -> "Tensor":
        """Write an in-place op's result into this tensor and make it its history (`old`: the
        stand-in for the old values, if the op saved it)."""
        np.copyto(self.data, result.data)
        _bump(self)
        self.requires_grad = result.requires_grad
        self._backward = result._backward
        self._parents = result._parents
        self._op = result._op
        # the old values are a private copy that nothing can change: no check needed for them
        self._saved = tuple(t for t in result._saved if t is not old)
        self._clock = _inplace_clock[0]
        return self

    def zero_(self) -> "Tensor":
        self._check_inplace()
        if self.requires_grad and _grad_state.enabled:
            return self.fill_(0)
        self.data[...] = 0  # (the book's loop zeroes .grad every epoch: no detour through fill_)
        _bump(self)
        return self

    def fill_(self, value) -> "Tensor":
        self._check_inplace()
        if self.requires_grad and _grad_state.enabled:  # d(constant)/d(old value) = 0
            return self._take_result(Tensor._make(
                np.full_like(self.data, value), (self._before_inplace(),), lambda g: (np.zeros_like(g),), "FillBackward0"))
        self.data[...] = value
        _bump(self)
        return self

    def copy_(self, src) -> "Tensor":
        self._check_inplace()
        if self._records_inplace(src):  # the old value is forgotten; src passes g through
            return self._take_result(Tensor._make(
                np.broadcast_to(src.data, self.data.shape), (self._before_inplace(), src),
                lambda g: (np.zeros_like(g), _unbroadcast(g, src.data.shape)), "CopyBackwards"))
        self.data[...] = src  # a Tensor gives numpy its array (__array__)
        _bump(self)
        return self

    def _inplace(self, name: str, ufunc, other) -> "Tensor":
        self._check_inplace()
        if _grad_state.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            from . import ops

            old = self._before_inplace()
            return self._take_result(getattr(ops, name)(old, other), old)
        ufunc(self.data, other.data if isinstance(other, Tensor) else other, out=self.data, casting="same_kind")
        _bump(self)
        return self

    def __iadd__(self, other):
        return self._inplace("add", np.add, other)

    def __isub__(self, other):
        return self._inplace("sub", np.subtract, other)

    def __imul__(self, other):
        return self._inplace("mul", np.multiply, other)

    def __itruediv__(self, other):
        token = _quiet_set()  # x / 0 is inf or nan, without numpy's warning (as in PyTorch)
        try:
            return self._inplace("div", np.true_divide, other)
        finally:
            _quiet_reset(token)

    def add_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        return self.__iadd__(other)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        return self.__isub__(other)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch names
        self._check_inplace()
        if self._records_inplace():
            from . import ops

            old = self._before_inplace()
            return self._take_result(ops.clamp(old, min, max), old)
        np.clip(self.data, min, max, out=self.data)
        _bump(self)
        return self

    def __setitem__(self, index, value) -> None:
        self._check_inplace()
        index = _index_to_numpy(index)
        if self._records_inplace(value):
            # out = old with out[index] = value: g flows to the old value outside the index,
            # and to value inside it (summed where value was broadcast)
            value_t = value if isinstance(value, Tensor) else None
            result = self.data.copy()
            result[index] = value.data if value_t is not None else value

            def backward(g):
                g_old = g.copy()
                g_old[index] = 0
                if value_t is None or not value_t.requires_grad:
                    return g_old, None
                return g_old, _unbroadcast(np.asarray(g[index]), value_t.data.shape)

            parents = (self._before_inplace(),) + ((value_t,) if value_t is not None else ())
            self._take_result(Tensor._make(result, parents, backward, "CopySlices"))
            return
        self.data[index] = value  # a Tensor value gives numpy its array (__array__)
        _bump(self)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph: _builtin_bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see the module docstring)."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = _unit_seed(self.data)
        else:
            if not isinstance(gradient, (Tensor, np.ndarray)):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(gradient).__name__}")
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.data.dtype)
            if seed.shape != self.data.shape:  # PyTorch does not broadcast the seed
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {Size(seed.shape)!r} and "
                    f"output[0] has a shape of {Size(self.data.shape)!r}."
                )
        if self._backward is None:  # backward() on a leaf: d(self)/d(self) = 1
            _accumulate(self, seed)
            return
        if self._parents is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time; specify retain_graph=True "
                "the first time if you need to"
            )
        order, is_chain = _topological_order(self)
        if is_chain:
            _backward_chain(order, seed, retain_graph)
        else:
            _backward_graph(order, seed, retain_graph)

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        body = _format_array(self.data)
        extras = []
        if self.data.dtype not in (_default_dtype, int64, bool_):
            extras.append(f"dtype=torch.{self.data.dtype.name}")
        if self._backward is not None:
            extras.append(f"grad_fn=<{self._op}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        inner = ", ".join([body] + extras)
        return f"tensor({inner})"

    __str__ = __repr__


# The in-place clock: a count of in-place changes to any tensor. A node notes the clock when it
# is recorded and a version box notes it at each change ([version, clock at each of the last
# _STAMPS changes]): when the clock has not moved since a node was recorded (a training loop
# changes its parameters after backward, not between forward and backward), nothing it reads
# can have changed, and backward skips the check with one comparison per node.
_inplace_clock = [0]
_STAMPS = 16


def _bump(t: Tensor, clock: int = 0) -> None:
    """Count an in-place change to `t`'s data (PyTorch's version counter). An optimizer changes
    all its parameters at one tick of the clock and passes it."""
    if not clock:
        clock = _inplace_clock[0] = _inplace_clock[0] + 1
    box = t._version_box
    if box is None:
        box = t._version_box = [0]
    box[0] += 1
    box.append(clock)
    if len(box) > 4 * _STAMPS:  # only the last _STAMPS are read
        del box[1:-_STAMPS]


def _box(t: Tensor) -> list:
    """`t`'s version box, made now if it has none yet."""
    box = t._version_box
    if box is None:
        box = t._version_box = [0]
    return box


def _bump_all(params: list) -> None:
    """Count an in-place change to every tensor of `params` that has a gradient (an optimizer
    step changes those), all at one tick of the clock."""
    clock = _inplace_clock[0] = _inplace_clock[0] + 1
    for p in params:
        if p.grad is not None:  # _bump(p, clock), inline: this runs every training step
            box = p._version_box
            if box is None:
                box = p._version_box = [0]
            box[0] += 1
            box.append(clock)
            if len(box) > 4 * _STAMPS:
                del box[1:-_STAMPS]


def _check_versions(node: Tensor) -> None:
    """Refuse to run `node`'s backward if a tensor it reads was changed in place since."""
    for saved in node._saved:
        tensor = node if saved is None else saved
        box = tensor._version_box
        if box is None:  # never changed
            continue
        stamps = box[1:][-_STAMPS:]
        changes_since = sum(1 for stamp in stamps if stamp > node._clock)
        if changes_since:
            version = box[0]
            # exact unless more than _STAMPS changes happened since; then an upper bound
            expected = version - changes_since
            expected = f"{expected}" if changes_since < _STAMPS else f"{expected} or earlier"
            made_by = re.sub(r"Backward\d*$", "", tensor._op)
            origin = f", which is output 0 of {made_by}," if tensor._backward is not None else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{_type_name(tensor)} [{', '.join(map(str, tensor.data.shape))}]]{origin} "
                f"is at version {version}; expected version {expected} instead. Hint: the tensor "
                "was changed (+=, -=, zero_(), t[i] = ..., an optimizer step) after the operation "
                "that needs it; compute the loss again after changing it."
            )


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor", "bool": "BoolTensor"}


def _type_name(t: Tensor) -> str:
    """PyTorch's name for the tensor's type, as its messages print it: torch.FloatTensor."""
    return "torch." + _TYPE_NAMES.get(t.data.dtype.name, "Tensor")


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    from .ops import unbroadcast

    return unbroadcast(g, shape)


def _freed(grad):
    raise RuntimeError(
        "Trying to backward through the graph a second time; specify retain_graph=True the first time"
    )


class _GradFn:
    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<{self._name} object>"


class Size(tuple):
    """A shape, printed as PyTorch prints it."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(d) for d in self)}])"

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n


_UNIT_SEEDS: dict = {}


def _unit_seed(data: np.ndarray) -> np.ndarray:
    """d(loss)/d(loss) = 1, shaped and typed as `data` (a single element).

    A scalar loss gets one shared read-only array per dtype: backward functions only read
    their incoming gradient and `.grad` always receives a copy, so sharing is safe (a write
    would raise, not corrupt), and np.ones_like costs as much as a small op every backward."""
    if data.ndim:
        return np.ones(data.shape, dtype=data.dtype)
    seed = _UNIT_SEEDS.get(data.dtype)
    if seed is None:
        seed = _UNIT_SEEDS[data.dtype] = np.array(1, dtype=data.dtype)
        seed.setflags(write=False)
    return seed


def _grad_tensor(arr: np.ndarray) -> Tensor:
    """A plain tensor around `arr`, without `Tensor.__init__`'s checks (a `.grad` is made
    every backward when gradients are set to None between steps)."""
    t = Tensor.__new__(Tensor)
    t.data = arr
    t.grad = None
    t._backward = None
    t._parents = ()
    t._op = ""
    t._retain = False
    t._version_box = None
    t._saved = ()
    t.requires_grad = False
    return t


def _accumulate(leaf: Tensor, g: np.ndarray) -> None:
    """`.grad += g`, in place when a gradient is already there (gradients accumulate)."""
    grad = leaf.grad
    if grad is None:
        data = leaf.data
        # Always a fresh copy: an op may hand the same array to several inputs.
        arr = np.array(g, dtype=data.dtype)
        if arr.shape != data.shape:
            arr = np.ascontiguousarray(np.broadcast_to(arr, data.shape))
        leaf.grad = _grad_tensor(arr)
    else:
        acc = grad.data
        if acc.ndim:
            np.add(acc, g, out=acc, casting="unsafe")
        else:
            # A scalar: numpy's scalar arithmetic rounds as the ufunc does, at a third of its cost.
            acc[()] = acc[()] + g[()]


_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time; specify retain_graph=True "
    "the first time if you need to"
)


def _backward_graph(order: list, seed, retain_graph: _builtin_bool) -> None:
    """`Tensor.backward` for any graph: each node, in topological order, hands the sum of the
    gradients it received on to its inputs."""
    grads = {id(order[0]): seed}
    pop = grads.pop  # bound once: this loop runs once per node per backward
    clock = _inplace_clock[0]  # nothing changes in place during backward
    for node in order:
        g = pop(id(node), None)
        if g is None:
            continue
        if node._saved and node._clock != clock:
            _check_versions(node)
        if node._retain:
            _accumulate(node, g)
        parent_grads = node._backward(g)
        for parent, pg in zip(node._parents, parent_grads):
            if pg is None or not parent.requires_grad:
                continue
            if parent._backward is None:
                _accumulate(parent, pg)
            else:
                key = id(parent)
                prev = grads.get(key)
                grads[key] = pg if prev is None else prev + pg
        if not retain_graph:
            # Free the saved arrays, as PyTorch does; a second backward is an error.
            node._parents = None
            node._backward = _freed
            node._saved = ()


def _backward_chain(chain: list, g, retain_graph: _builtin_bool) -> None:
    """`Tensor.backward` for a chain (each node has at most one non-leaf input, which is the
    next node): the gradient passes straight from one node to the next, with no bookkeeping
    of which node has received what."""
    # Nodes are dropped from the list as they are done, so what they hold (activations,
    # saved arrays) is freed during the walk rather than after it: a lower memory peak.
    chain.reverse()
    pop = chain.pop
    clock = _inplace_clock[0]  # nothing changes in place during backward
    while chain:
        node = pop()
        if node._saved:
            if node._clock != clock:
                _check_versions(node)
            if not retain_graph:
                node._saved = ()
        if node._retain:
            _accumulate(node, g)
        backward = node._backward
        # The op may reuse g for its result when nothing but this loop holds it: g owns its
        # memory, is writable, and its references are `g` and getrefcount's argument (numpy
        # elides temporaries by the same test). Written out here rather than in a function,
        # whose argument would be one more reference (and a wrapper's, under mutation testing).
        if (getattr(backward, "reuses_gradient", False) and type(g) is np.ndarray and g.base is None
                and g.flags.writeable and _getrefcount is not None and _getrefcount(g) <= 2):
            parent_grads = backward(g, True)  # the op may write its result into g
        else:
            parent_grads = backward(g)
        g = None
        for parent, pg in zip(node._parents, parent_grads):
            if pg is None or not parent.requires_grad:
                continue
            if parent._backward is None:
                _accumulate(parent, pg)  # copies: nothing keeps a reference to pg
            else:
                g = pg
        # Drop this loop's other references to the gradient, so that only `g` holds it when
        # nothing else does (see above).
        pg = parent_grads = backward = None
        if not retain_graph:
            node._parents = None
            node._backward = _freed
        if g is None:  # nothing flows further up the chain
            return


_getrefcount = getattr(sys, "getrefcount", None)  # CPython; elsewhere nothing is reused


def _topological_order(root: Tensor) -> tuple:
    """Non-leaf nodes of the graph under `root`, each before all of its inputs, and whether
    they form a chain (each node's only non-leaf input is the next node)."""
    # Most graphs are a chain (loss <- linear <- tanh <- linear ...): while each node has at
    # most one non-leaf input, that input can only be reached through it, so the order is
    # simply the chain and no search is needed. At the first node with several non-leaf
    # inputs, the rest of the graph is reachable only through that node: sort it from there.
    if root._parents is None:
        raise RuntimeError(_SECOND_BACKWARD)
    order = [root]
    node = root
    while True:
        next_node = None
        for parent in node._parents:
            if parent._backward is not None:
                if next_node is not None:
                    order.pop()
                    order += _depth_first_order(node)
                    return order, False
                next_node = parent
        if next_node is None:
            return order, True
        if next_node._parents is None:
            raise RuntimeError(_SECOND_BACKWARD)
        order.append(next_node)
        node = next_node


def _depth_first_order(root: Tensor) -> list:
    """Topological order of the non-leaf nodes under `root` (reversed depth-first post-order)."""
    order: list = []
    visited = {id(root)}
    # Each stack entry is a node and an iterator over its inputs, so every node is pushed once
    # and resumes where it stopped.
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent._backward is not None and id(parent) not in visited:
                if parent._parents is None:
                    raise RuntimeError(_SECOND_BACKWARD)
                visited.add(id(parent))
                stack.append((parent, iter(parent._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def _index_to_numpy(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _format_array(a: np.ndarray) -> str:
    """Numbers as PyTorch prints them: `1., 0.`, `4517.2969, 82.6000` or `-1.8590e+19`."""
    if a.dtype.kind != "f":
        return np.array2string(a, separator=", ", prefix="tensor(", threshold=1000).replace(", ...,", ",  ...,")
    # PyTorch's rules (torch/_tensor_str.py): one format for the whole tensor, chosen from the
    # nonzero finite values, and every entry right-aligned to the widest of those values
    # (`[ 9.5483e-01, -8.2600e-04]`). numpy's own float modes differ: they switch float32 to
    # scientific from 1e6 up and pad to the width of inf/nan too.
    finite = a[np.isfinite(a)]
    nonzero = finite[finite != 0]
    magnitude = np.abs(nonzero).astype(float64)  # compared in double, as PyTorch does
    integral = _builtin_bool(np.all(nonzero == np.ceil(nonzero)))
    if magnitude.size and (
        magnitude.max() > 1e8 or magnitude.max() / magnitude.min() > 1000 or (not integral and magnitude.min() < 1e-4)
    ):
        def fmt(v) -> str:
            return f"{v:.4e}"
    elif integral:
        def fmt(v) -> str:
            return f"{v:.0f}." if np.isfinite(v) else f"{v:.0f}"
    else:
        def fmt(v) -> str:
            return f"{v:.4f}"
    width = max((len(fmt(v)) for v in nonzero.flat), default=1)
    text = np.array2string(
        a, separator=", ", prefix="tensor(", threshold=1000,
        formatter={"float_kind": lambda v: fmt(v).rjust(width)},
    )
    return text.replace(", ...,", ",  ...,")  # PyTorch pads the ellipsis like a number


# ---------------------------------------------------------------------- creation
def tensor(data, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (lists, numbers, arrays or tensors)."""
    return Tensor(_as_array(data, dtype), requires_grad=requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """`data` as a tensor, without a copy where it can be: the tensor itself, or a tensor
    sharing a numpy array's memory (as PyTorch's as_tensor)."""
    if isinstance(data, (Tensor, np.ndarray)) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data if isinstance(data, Tensor) else Tensor(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    return Tensor(array)


def _shape_args(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        return tuple(size[0])
    return tuple(size)


def _dtype_or_default(dtype) -> np.dtype:
    return _default_dtype if dtype is None else np.dtype(dtype)


def zeros(*size, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_args(size), dtype=_dtype_or_default(dtype)), requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    return Tensor(np.ones(_shape_args(size), dtype=_dtype_or_default(dtype)), requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    if dtype is None:  # the fill value's kind, as PyTorch: full((2,), 1) is int64
        dtype = bool_ if isinstance(fill_value, _builtin_bool) else int64 if isinstance(fill_value, int) else _default_dtype
    return Tensor(np.full(tuple(size), fill_value, dtype=dtype), requires_grad=requires_grad)


def empty(*size, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    return Tensor(np.zeros_like(t.data, dtype=dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    return Tensor(np.ones_like(t.data, dtype=dtype), requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None) -> Tensor:
    return Tensor(np.full_like(t.data, fill_value, dtype=dtype))


def arange(start, end=None, step=1, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if is_int else _default_dtype
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: _builtin_bool = False) -> Tensor:
    return Tensor(np.linspace(start, end, steps).astype(_dtype_or_default(dtype)), requires_grad=requires_grad)


def isfinite(t: Tensor) -> Tensor:
    return Tensor(np.isfinite(t.data))


def isnan(t: Tensor) -> Tensor:
    return Tensor(np.isnan(t.data))


def is_tensor(obj) -> _builtin_bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    from . import ops

    return ops.stack(tensors, dim)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    from . import ops

    return ops.cat(tensors, dim)
