"""Making tensors and turning them back into numbers, as PyTorch does.

Every expected value and dtype below is what PyTorch 2.13 returned for the same call.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import engine as torch


def described(t: torch.Tensor):
    return t.dtype, t.tolist(), t.requires_grad


@pytest.mark.parametrize("make, expected", [
    (lambda: torch.full((2,), 1), (torch.int64, [1, 1], False)),
    (lambda: torch.full((2, 1), 1.5), (torch.float32, [[1.5], [1.5]], False)),
    (lambda: torch.full((2,), True), (torch.bool, [True, True], False)),
    (lambda: torch.full((2,), 1.5, requires_grad=True), (torch.float32, [1.5, 1.5], True)),
    (lambda: torch.full([2], 2, dtype=torch.float64), (torch.float64, [2.0, 2.0], False)),
    (lambda: torch.zeros_like(torch.tensor([1, 2])), (torch.int64, [0, 0], False)),
    (lambda: torch.zeros_like(torch.tensor([1.0]), dtype=torch.float64, requires_grad=True), (torch.float64, [0.0], True)),
    (lambda: torch.ones_like(torch.tensor([1.0, 2.0]), dtype=torch.float64), (torch.float64, [1.0, 1.0], False)),
    (lambda: torch.ones_like(torch.tensor([1.0]), requires_grad=True), (torch.float32, [1.0], True)),
    (lambda: torch.full_like(torch.tensor([1, 2]), 7), (torch.int64, [7, 7], False)),
    (lambda: torch.full_like(torch.tensor([1, 2]), 7.5), (torch.int64, [7, 7], False)),
    (lambda: torch.full_like(torch.tensor([1, 2]), 7, dtype=torch.float32), (torch.float32, [7.0, 7.0], False)),
    (lambda: torch.empty(2, dtype=torch.int64, requires_grad=False), (torch.int64, [0, 0], False)),
    (lambda: torch.empty((1, 2), requires_grad=True), (torch.float32, [[0.0, 0.0]], True)),
    (lambda: torch.zeros(2, 1), (torch.float32, [[0.0], [0.0]], False)),
    (lambda: torch.zeros([2, 1]), (torch.float32, [[0.0], [0.0]], False)),
    (lambda: torch.zeros((1, 2), dtype=torch.int64), (torch.int64, [[0, 0]], False)),
    (lambda: torch.zeros(torch.Size([2]), requires_grad=True), (torch.float32, [0.0, 0.0], True)),
    (lambda: torch.ones((1, 2)), (torch.float32, [[1.0, 1.0]], False)),
    (lambda: torch.ones(2, dtype=torch.float64, requires_grad=True), (torch.float64, [1.0, 1.0], True)),
    (lambda: torch.arange(0, 1, 0.25), (torch.float32, [0.0, 0.25, 0.5, 0.75], False)),
    (lambda: torch.arange(3), (torch.int64, [0, 1, 2], False)),
    (lambda: torch.arange(1, 7, 2), (torch.int64, [1, 3, 5], False)),
    (lambda: torch.arange(2.5), (torch.float32, [0.0, 1.0, 2.0], False)),
    (lambda: torch.arange(3, dtype=torch.float64), (torch.float64, [0.0, 1.0, 2.0], False)),
    (lambda: torch.arange(3.0, requires_grad=True), (torch.float32, [0.0, 1.0, 2.0], True)),
    (lambda: torch.linspace(0, 1, 5), (torch.float32, [0.0, 0.25, 0.5, 0.75, 1.0], False)),
    (lambda: torch.linspace(0, 1, 3, dtype=torch.float64), (torch.float64, [0.0, 0.5, 1.0], False)),
    (lambda: torch.linspace(0, 1, 3, requires_grad=True), (torch.float32, [0.0, 0.5, 1.0], True)),
    (lambda: torch.isnan(torch.tensor([1.0, float("nan")])), (torch.bool, [False, True], False)),
    (lambda: torch.isfinite(torch.tensor([1.0, float("inf")])), (torch.bool, [True, False], False)),
    (lambda: torch.tensor([1.7, -1.7]).long(), (torch.int64, [1, -1], False)),
    (lambda: torch.as_tensor([1, 2]), (torch.int64, [1, 2], False)),
], ids=lambda value: "" if callable(value) else None)
def test_creation_gives_pytorchs_dtype_and_values(make, expected):
    assert described(make()) == expected


def test_sizes_and_counts():
    assert torch.Size([2, 3]).numel() == 6 and torch.Size([]).numel() == 1
    assert torch.numel(torch.zeros(2, 3)) == 6
    assert torch.empty(2, 3).shape == (2, 3)


def test_one_element_conversions():
    assert [10, 20, 30][torch.tensor(1)] == 20
    assert list(range(5))[torch.tensor([3])] == 3
    for not_an_index in (torch.tensor(1.0), torch.tensor([1, 2])):
        with pytest.raises(TypeError, match="^only integer tensors of a single element can be converted to an index$"):
            [10, 20, 30][not_an_index]
    assert int(torch.tensor(2.7)) == 2 and int(torch.tensor(-2.7)) == -2
    assert float(torch.tensor([2.5])) == 2.5


def test_tensors_hash_by_identity():
    t = torch.tensor([1.0])
    same_values = torch.tensor([1.0])
    table = {t: "t", same_values: "other"}
    assert table[t] == "t" and table[same_values] == "other" and hash(t) == hash(t)


def test_from_numpy_and_as_tensor_share_the_array():
    array = np.array([1.0, 2.0])
    shared, also_shared = torch.from_numpy(array), torch.as_tensor(array)
    array[0] = 9.0
    assert shared.dtype == torch.float64 and shared.tolist() == [9.0, 2.0]
    assert also_shared.dtype == torch.float64 and also_shared.tolist() == [9.0, 2.0]
    copied = torch.as_tensor(array, dtype=torch.float32)
    array[1] = 7.0
    assert copied.tolist() == [9.0, 2.0]
    x = torch.tensor([1.0])
    assert torch.as_tensor(x) is x and torch.as_tensor(x, dtype=torch.float32) is x
    converted = torch.as_tensor(x, dtype=torch.float64)
    assert converted is not x and converted.dtype == torch.float64


def test_numpy_sees_the_data_and_copies_when_asked():
    t = torch.tensor([1.0, 2.0])
    assert np.asarray(t) is t.data
    as_double = np.asarray(t, dtype=np.float64)
    assert as_double.dtype == np.float64 and as_double.tolist() == [1.0, 2.0]
    copy = np.array(t, copy=True)
    copy[0] = 5.0
    assert t.tolist() == [1.0, 2.0]


def test_detach_in_place_cuts_the_tensor_from_the_graph():
    x = torch.tensor([1.0], requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert y.requires_grad is False and y.grad_fn is None and y.is_leaf
    assert y.tolist() == [2.0]


def test_casts_and_their_gradient():
    w = torch.tensor([1.0], requires_grad=True)
    doubled = w.to(torch.float64)
    assert doubled.dtype == torch.float64 and doubled.grad_fn.name() == "ToCopyBackward0"
    (doubled * 2).sum().backward()
    assert w.grad.dtype == torch.float32 and w.grad.tolist() == [2.0]
    assert torch.tensor([1.0]).double().dtype == torch.float64
    assert torch.tensor([1], dtype=torch.float64).float().dtype == torch.float32
    same = torch.tensor([1.0])
    assert same.to(torch.float32) is same and same.to("cpu") is same and same.to() is same


def test_default_dtype_is_float32_and_can_be_float64():
    assert torch.get_default_dtype() == torch.float32
    try:
        torch.set_default_dtype(torch.float64)
        assert torch.tensor([1.0]).dtype == torch.float64 and torch.zeros(1).dtype == torch.float64
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError, match="^only floating-point types are supported as the default type$"):
        torch.set_default_dtype(torch.int64)
    assert torch.get_default_dtype() == torch.float32


@pytest.mark.parametrize("values, printed", [
    ([1.0, 2.5], "tensor([1.0000, 2.5000])"),
    ([1e9, 1.0], "tensor([1.0000e+09, 1.0000e+00])"),
    ([1e-5, 1.0], "tensor([1.0000e-05, 1.0000e+00])"),
    ([1.0, -2.0], "tensor([ 1., -2.])"),
    ([float("inf"), 1.0, float("nan")], "tensor([inf, 1., nan])"),
    ([1000.5, 0.5], "tensor([1.0005e+03, 5.0000e-01])"),
    ([999.5, 1.0], "tensor([999.5000,   1.0000])"),
    (0.0, "tensor(0.)"),
    ([-1e-5, 0.5], "tensor([-1.0000e-05,  5.0000e-01])"),
    ([1e8, 1.0], "tensor([1.0000e+08, 1.0000e+00])"),
    ([1e-4, 0.5], "tensor([1.0000e-04, 5.0000e-01])"),
])
def test_printing_follows_pytorch(values, printed):
    assert repr(torch.tensor(values)) == printed


def test_printing_flags():
    assert repr(torch.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(torch.tensor([1.5], dtype=torch.float64)) == "tensor([1.5000], dtype=torch.float64)"
    assert repr(torch.tensor([1.5], requires_grad=True)) == "tensor([1.5000], requires_grad=True)"
    assert repr(torch.tensor([1.5], requires_grad=True) * 2) == "tensor([3.], grad_fn=<MulBackward0>)"


@pytest.mark.parametrize("values, printed", [
    ([1e8, 1e6], "tensor([100000000.,   1000000.])"),
    ([2e8, 1e6], "tensor([2.0000e+08, 1.0000e+06])"),
    ([1000.0, 1.0], "tensor([1000.,    1.])"),
    ([1001.0, 1.0], "tensor([1.0010e+03, 1.0000e+00])"),
    ([1.5, 1.5e-4], "tensor([1.5000e+00, 1.5000e-04])"),
    ([1e-4, 2e-4], "tensor([1.0000e-04, 2.0000e-04])"),
    ([1.0, 0.0], "tensor([1., 0.])"),
    ([[1.5, 2.0], [3.0, 4.0]], "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]])"),
])
def test_printing_thresholds_follow_pytorch(values, printed):
    assert repr(torch.tensor(values)) == printed


def test_long_tensors_are_summarised_as_pytorch_does():
    assert repr(torch.arange(1001.0)) == "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])"
    assert repr(torch.arange(1001)) == "tensor([   0,    1,    2,  ...,  998,  999, 1000])"
    assert "..." not in repr(torch.arange(1000))


def test_sizes_lengths_and_truth():
    t = torch.ones(2, 3)
    assert t.size() == (2, 3) and repr(t.size()) == "torch.Size([2, 3])"
    assert t.size(1) == 3 and t.size(-1) == 3 and len(torch.ones(4, 2)) == 4
    assert bool(torch.tensor([0.0])) is False and bool(torch.tensor(2.0)) is True
    with pytest.raises(TypeError, match=r"^len\(\) of a 0-d tensor$"):
        len(torch.tensor(1.0))
    with pytest.raises(RuntimeError, match="^Boolean value of Tensor with more than one value is ambiguous$"):
        bool(torch.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=re.escape(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")):
        torch.tensor([1.0], requires_grad=True).numpy()
