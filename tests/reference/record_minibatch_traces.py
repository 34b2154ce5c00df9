"""Record mini-batch runs with PyTorch into minibatch_traces.json (run by hand, not by the tests).

    python tests/reference/record_minibatch_traces.py     # needs torch and numpy; any CPU build

Each case is written here the way a student writes a mini-batch loop by hand in PyTorch,
with numpy shuffling the training points:

    rng = np.random.default_rng(batch_seed)
    for epoch in ...:
        order = rng.permutation(n_train)
        for start in range(0, n_train, batch_size):
            batch = order[start:start + batch_size]
            loss = loss_fn(model(x[batch]), y[batch]); zero_grad; backward; step

and records every batch loss, each epoch's mean of them and its validation loss (on the
whole validation set, at the parameters the epoch starts from), and the parameters after
each epoch. test_minibatch.py trains the same runs with Kepler's Trainer and compares.
The data, the split rule (numpy's default_rng(split_seed).permutation(n), the last
int(fraction * n) validate) and the MLP's initialisation (PyTorch's default bounds, drawn
from numpy's default_rng(init_seed)) are Kepler's documented ones, re-typed here.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

T_U = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
T_C = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]

CASES = [
    # name, model, input, optimizer and its options, batch size, batch seed, val fraction, split seed, epochs
    {"name": "line-sgd-batch4", "model": "linear", "input": "scale", "optimizer": "SGD", "kwargs": {"lr": 1e-2},
     "batch_size": 4, "batch_seed": 0, "val_fraction": 0.0, "split_seed": 0, "epochs": 30},
    {"name": "line-adam-raw-batch1", "model": "linear", "input": "raw", "optimizer": "Adam", "kwargs": {"lr": 0.1},
     "batch_size": 1, "batch_seed": 7, "val_fraction": 0.0, "split_seed": 0, "epochs": 20},
    {"name": "line-momentum-batch3-split", "model": "linear", "input": "scale", "optimizer": "SGD",
     "kwargs": {"lr": 5e-3, "momentum": 0.9}, "batch_size": 3, "batch_seed": 2, "val_fraction": 0.2,
     "split_seed": 1, "epochs": 30},
    {"name": "mlp8-adam-batch4-split", "model": "mlp:8", "input": "standardize", "optimizer": "Adam",
     "kwargs": {"lr": 0.01}, "batch_size": 4, "batch_seed": 3, "val_fraction": 0.3, "split_seed": 3,
     "init_seed": 3, "epochs": 30},
]


def split(n: int, fraction: float, seed: int):
    if fraction == 0:
        return np.arange(n), np.arange(0)
    n_val = int(fraction * n)
    order = np.random.default_rng(seed).permutation(n)
    return order[:-n_val], order[-n_val:]


def record(case: dict) -> dict:
    t_u = torch.tensor(T_U)
    t_c = torch.tensor(T_C)
    train, val = split(len(T_U), case["val_fraction"], case["split_seed"])
    if case["input"] == "scale":
        x = 0.1 * t_u
    elif case["input"] == "standardize":
        readings = np.asarray(T_U, dtype=np.float64)[train]
        x = (t_u - float(np.mean(readings))) * (1.0 / float(np.std(readings)))
    else:
        x = t_u
    if case["model"] == "linear":
        w = torch.tensor(1.0, requires_grad=True)
        b = torch.tensor(0.0, requires_grad=True)
        params = [w, b]

        def model(inputs):
            return w * inputs + b
    else:
        hidden = int(case["model"].split(":")[1])
        net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        rng = np.random.default_rng(case["init_seed"])
        with torch.no_grad():
            for layer in (net[0], net[2]):
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.copy_(torch.tensor(rng.uniform(-bound, bound, size=tuple(layer.weight.shape))))
                layer.bias.copy_(torch.tensor(rng.uniform(-bound, bound, size=tuple(layer.bias.shape))))
        params = list(net.parameters())

        def model(inputs):
            return net(inputs.unsqueeze(1)).reshape(-1)

    optimizer = getattr(torch.optim, case["optimizer"])(params, **case["kwargs"])
    x_train, y_train = x[torch.tensor(train)], t_c[torch.tensor(train)]
    x_val, y_val = x[torch.tensor(val)], t_c[torch.tensor(val)]
    shuffler = np.random.default_rng(case["batch_seed"])
    epochs = []
    for _ in range(case["epochs"]):
        val_loss = None
        if len(val):
            with torch.no_grad():
                val_loss = torch.nn.functional.mse_loss(model(x_val), y_val).item()
        order = shuffler.permutation(len(train))
        batch_losses = []
        for start in range(0, len(order), case["batch_size"]):
            batch = order[start:start + case["batch_size"]]
            loss = torch.nn.functional.mse_loss(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        total = 0.0
        for value in batch_losses:
            total += value
        epochs.append({"batch_losses": batch_losses, "train_loss": total / len(batch_losses), "val_loss": val_loss,
                       "params": [p.detach().reshape(-1).tolist() for p in params]})
    return {**case, "train_indices": train.tolist(), "epochs_recorded": epochs}


def main() -> None:
    about = (f"Recorded with PyTorch {torch.__version__} and numpy {np.__version__} by "
             "record_minibatch_traces.py: float32, mini-batches shuffled by numpy's default_rng(batch_seed)."
             "permutation(n_train) each epoch; per epoch the batch losses, their mean, the validation loss at "
             "the epoch's starting parameters, and the parameters after the epoch.")
    doc = {"about": about, "t_u": T_U, "t_c": T_C, "cases": [record(case) for case in CASES]}
    path = Path(__file__).with_name("minibatch_traces.json")
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {path}")


if __name__ == "__main__":
    main()
