"""The backprop walk (engine/lesson/backprop.py): the graph, the order, and numbers that are
the trainer's, the gradient check's and (where installed) PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

from engine.lesson.backprop import BackpropWalk, kept, KEEP, HEAD
from engine.lesson.gradcheck import check_gradients
from engine.ops import unbroadcast
from engine.training.trainer import Hyperparameters, Setup, Trainer

MODELS = {
    "linear": (Setup(input_transform="none"), 1e-4),
    "poly:3": (Setup(model="poly:3", input_transform="scale", input_scale=0.1), 1e-3),
    "mlp:4": (Setup(model="mlp:4", input_transform="scale", input_scale=0.1), 1e-2),
}


def trainer(model: str, zero_grad: bool = True, epochs_done: int = 0) -> Trainer:
    setup, lr = MODELS[model]
    t = Trainer(setup, Hyperparameters(learning_rate=lr, zero_grad=zero_grad))
    for _ in range(epochs_done):
        t.step()
    return t


def grads_after_one_epoch(t: Trainer) -> dict:
    """What the trainer itself leaves in the Parameters table after its next epoch."""
    return {name: np.asarray(g) for name, g in t.step().grads.items()}


def test_the_line_is_the_chapters_graph_in_pytorchs_names_and_order():
    p = BackpropWalk.of(trainer("linear")).pass_(0)
    assert p.order() == ["MeanBackward0", "PowBackward0", "SubBackward0", "AddBackward0", "MulBackward0"]
    assert [n.grad_fn for n in p.nodes if n.kind == "op"] == p.order()
    leaves = {n.name: n.kind for n in p.nodes if n.grad_fn is None}
    assert leaves == {"w": "parameter", "b": "parameter", "x": "data", "y": "data"}
    assert p.grads_ready_order() == ["b", "w"]  # as PyTorch: b's AccumulateGrad runs before MulBackward0
    assert p.nodes[p.root].formula == "mean(sq)"
    assert p.nodes[1].formula == "err ** 2"
    # the book's numbers at w = 1, b = 0 on the raw readings
    assert f"{p.loss:.4f}" == "1763.8846"
    assert f"{float(p.grads['w']):.4f}" == "4517.2969" and f"{float(p.grads['b']):.4f}" == "82.6000"


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("zero_grad", [True, False])
def test_the_walk_gives_the_trainers_gradients_bit_for_bit(model, zero_grad):
    t = trainer(model, zero_grad=zero_grad, epochs_done=3)
    walk = BackpropWalk.of(t)
    for index in range(2):
        p = walk.pass_(index)
        assert p.epoch == 4 + index
        checks = check_gradients(t, max_elements=8)
        by_name = {c.name: c.autograd for c in checks}
        expected = grads_after_one_epoch(t)  # the real run, stepped after the walk was copied
        for name, g in p.grads.items():
            assert g.dtype == np.float32 and np.array_equal(g, expected[name]), (model, name)
            assert np.array_equal(p.trainer_grads[name], expected[name])
            # the gradient check's autograd is the gradient of this loss alone: what the pass added
            for c in checks:
                if c.parameter == name:
                    assert float(p.added[name][c.index]) == by_name[c.name]
        if zero_grad:
            assert all(v is None for v in p.grad_before.values())
            for name in p.grads:
                assert np.array_equal(p.added[name], p.grads[name])


@pytest.mark.parametrize("hyper", [Hyperparameters(learning_rate=1e-2, momentum=0.9),
                                   Hyperparameters(optimizer="adam", learning_rate=0.1)])
def test_later_passes_follow_the_optimizers_state(hyper):
    t = Trainer(MODELS["mlp:4"][0], hyper)
    t.train(3)
    walk = BackpropWalk.of(t)
    for index in range(3):
        expected = grads_after_one_epoch(t)
        assert all(np.array_equal(g, expected[name]) for name, g in walk.pass_(index).grads.items())


def test_a_diverged_run_is_walked_without_warnings(recwarn):
    t = Trainer(Setup(), Hyperparameters(learning_rate=1e-2))
    t.train(20)
    assert t.state == "diverged"
    p = BackpropWalk.of(t).pass_(1)
    assert len(p.gradient_check) == 2  # made at an infinite loss
    assert p.loss == np.inf and not recwarn.list


def test_with_zero_grad_off_the_old_gradient_is_added_to():
    t = trainer("linear", zero_grad=False, epochs_done=1)
    old = {name: np.asarray(g).copy() for name, g in t.snapshot().grads.items()}
    walk = BackpropWalk.of(t)
    first = walk.pass_(0)
    assert {n: float(v) for n, v in first.grad_before.items()} == {n: float(v) for n, v in old.items()}
    for name in ("w", "b"):
        assert first.grads[name] == np.float32(old[name] + first.added[name])
    # at the step that reaches b: its .grad before and after
    reach_b = [s for st in first.steps for s in st.sent if first.nodes[s.to].name == "b"]
    assert len(reach_b) == 1 and reach_b[0].grad_before == old["b"] and reach_b[0].grad_after == first.grads["b"]
    second = walk.pass_(1)  # the next epoch starts from the first one's .grad
    assert second.grad_before["w"] == first.grads["w"]
    assert second.grads["w"] == np.float32(first.grads["w"] + second.added["w"])


def test_the_second_pass_is_after_the_optimizers_step():
    t = trainer("linear")
    walk = BackpropWalk.of(t)
    walk.pass_(1)
    t.step()
    assert float(walk.pass_(1).params["w"]) == float(t.model.w.data)
    assert float(walk.pass_(0).params["w"]) == 1.0


def test_the_walk_leaves_the_run_alone():
    t = trainer("mlp:4", zero_grad=False, epochs_done=2)
    before = {n: (p.data.copy(), p.grad.data.copy()) for n, p in t.model.named_parameters()}
    walk = BackpropWalk.of(t)
    walk.pass_(2)
    assert t.epoch == 2
    for n, p in t.model.named_parameters():
        assert np.array_equal(p.data, before[n][0]) and np.array_equal(p.grad.data, before[n][1])


@pytest.mark.parametrize("model", list(MODELS))
def test_what_is_sent_is_the_incoming_gradient_times_the_local_derivative(model):
    p = BackpropWalk.of(trainer(model, epochs_done=2)).pass_(0)
    checked = 0
    for step in p.steps:
        for sent in step.sent:
            if sent.gradient is None or sent.local_value is None:
                continue
            product = unbroadcast(np.asarray(step.incoming * sent.local_value, dtype=np.float32), sent.shape)
            assert np.allclose(sent.gradient, product, rtol=1e-6, atol=0), (p.nodes[step.node].grad_fn)
            checked += 1
    assert checked == {"linear": 6, "poly:3": 1, "mlp:4": 2}[model]
    # what a node receives is what its users sent it
    received = {}
    for step in p.steps:
        assert np.array_equal(step.incoming, received.get(step.node, np.ones(()))), p.nodes[step.node].grad_fn
        for sent in step.sent:
            if sent.gradient is not None and p.nodes[sent.to].kind == "op":
                received[sent.to] = received[sent.to] + sent.gradient if sent.to in received else sent.gradient


def test_groups_are_said():
    poly = BackpropWalk.of(trainer("poly:3")).pass_(0)
    mlp = BackpropWalk.of(trainer("mlp:4")).pass_(0)
    line = BackpropWalk.of(trainer("linear")).pass_(0)
    assert "one node" in poly.note and "AddmmBackward0" in poly.note
    assert "one node" in mlp.note and line.note == ""
    assert poly.order() == ["MseLossBackward0", "ViewBackward0", "AddmmBackward0", "UnsqueezeBackward0",
                            "UnsqueezeBackward0"]
    assert mlp.order() == ["MseLossBackward0", "ViewBackward0", "AddmmBackward0", "TanhBackward0", "AddmmBackward0"]
    assert mlp.grads_ready_order() == ["output_linear.weight", "output_linear.bias", "hidden_linear.weight",
                                       "hidden_linear.bias"]


def test_a_big_array_is_kept_as_its_first_values():
    small = np.arange(10, dtype=np.float32)
    big = np.arange(KEEP + 1, dtype=np.float32).reshape(-1, 1)
    assert np.array_equal(kept(small), small) and kept(small) is not small
    assert np.array_equal(kept(big), np.arange(HEAD, dtype=np.float32))


# ---------------------------------------------------------------------- against PyTorch
def torch_order(torch, loss, names: dict) -> tuple[list[str], list[str]]:
    """The grad_fn names in the order PyTorch's engine runs them (AccumulateGrad and
    TBackward0 left out: the engine writes .grad inside the node that sends, and has no
    separate transpose node), and the parameters in the order their .grad is written."""
    ops, params, seen, stack = [], [], set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)

        def hook(grad, node=node):
            if node.name().endswith("AccumulateGrad"):
                params.append(names[id(node.variable)])
            elif node.name() != "TBackward0":
                ops.append(node.name())

        node.register_prehook(hook)
        stack += [n for n, _ in node.next_functions]
    loss.backward()
    return ops, params


@pytest.mark.parametrize("model", list(MODELS))
def test_names_order_and_gradients_match_pytorch(model):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    t = trainer(model, epochs_done=2)
    p = BackpropWalk.of(t).pass_(0)
    x_train, y_train = t.training_data()
    x, y = torch.from_numpy(x_train.copy()), torch.from_numpy(y_train.copy())
    params = {n: torch.tensor(np.array(v), requires_grad=True) for n, v in p.params.items()}
    names = {id(v): n for n, v in params.items()}
    if model == "linear":
        loss = ((params["w"] * x + params["b"] - y) ** 2).mean()
    elif model.startswith("poly"):
        features = torch.from_numpy(t.model.features(t._x_train).data.copy())
        loss = F.mse_loss(F.linear(features, params["w"].unsqueeze(0), params["b"].unsqueeze(0)).reshape(-1), y)
    else:
        hidden = torch.tanh(F.linear(x.unsqueeze(1), params["hidden_linear.weight"], params["hidden_linear.bias"]))
        loss = F.mse_loss(F.linear(hidden, params["output_linear.weight"], params["output_linear.bias"]).reshape(-1), y)
    ops, order = torch_order(torch, loss, names)
    assert ops == p.order()
    # The parameters get their .grad in PyTorch's order. (A layer's weight and bias get
    # theirs from one engine node; PyTorch writes the bias first, the engine in the op's
    # input order: the same step.)
    step_of = {}
    for i, step in enumerate(p.steps):
        for sent in step.sent:
            if p.nodes[sent.to].kind == "parameter":
                step_of.setdefault(p.nodes[sent.to].parameter, i)
    assert sorted(order) == sorted(step_of) and len(order) == len(set(order))
    assert [step_of[name] for name in order] == sorted(step_of[name] for name in order)
    assert float(loss.detach()) == pytest.approx(p.loss, rel=1e-6)
    for name, v in params.items():  # float32 sums in another order: equal to their rounding
        scale = float(np.abs(p.grads[name]).max())
        np.testing.assert_allclose(v.grad.numpy(), p.grads[name], rtol=1e-5, atol=1e-5 * scale)


def test_the_chapters_first_gradient_is_pytorchs_to_the_bit():
    torch = pytest.importorskip("torch")
    p = BackpropWalk.of(trainer("linear")).pass_(0)
    x_train, y_train = trainer("linear").training_data()
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    ((w * torch.from_numpy(x_train) + b - torch.from_numpy(y_train)) ** 2).mean().backward()
    assert (float(w.grad), float(b.grad)) == (float(p.grads["w"]), float(p.grads["b"]))


def test_the_exponent_is_read_from_the_graph():
    from engine.lesson.backprop import _power
    from engine.tensor import Tensor

    x = Tensor(np.array([1.5, 2.0], dtype=np.float32), requires_grad=True)
    assert _power(x ** 2) == 2.0 and _power(x ** 3) == 3.0 and _power(x ** 0.5) == 0.5
