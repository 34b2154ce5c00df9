"""`nn.functional`: the stateless forms of the layers and losses."""
from __future__ import annotations

from .. import ops
from ..tensor import Tensor

linear = ops.linear
mse_loss = ops.mse_loss
l1_loss = ops.l1_loss
tanh = ops.tanh
sigmoid = ops.sigmoid
relu = ops.relu
leaky_relu = ops.leaky_relu


def identity(x: Tensor) -> Tensor:
    return x
