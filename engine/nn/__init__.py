"""`engine.nn`: modules, parameters and losses with PyTorch's names."""
from . import functional
from .modules import (
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    Module,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)

__all__ = [
    "functional", "Identity", "L1Loss", "LeakyReLU", "Linear", "Module", "MSELoss",
    "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh",
]
