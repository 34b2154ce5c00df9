"""Record the optimizer trajectories in optim_traces.json with PyTorch (run by hand, not by the tests).

    python tests/reference/record_optim_traces.py     # needs torch; any CPU build

The problem is test_optim.py's: L(p) = sum(a * (p - target)^2), a different curvature per
element, in float64, so momentum and the moment estimates matter and the engine's float64
arithmetic can be compared to PyTorch's to rounding. The cases are those torch_traces.json
(float32, the chapter's line and MLP) does not cover: amsgrad, every SGD option at once, a
learning rate changed mid-run (state kept), weight decay without momentum, and two tensors
in one optimizer.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

CURVATURE = [0.5, 2.0, 1.0]
TARGET = [1.0, -2.0, 0.5]
START = [3.0, 1.0, -1.0]

CASES = [
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.2, "nesterov": True}, 8, None),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1}, 8, None),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}, 8, None),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, 8, {"at_step": 4, "lr": 0.01}),
    ("Adam", {"lr": 0.1}, 8, {"at_step": 4, "lr": 0.01}),
    ("Adam", {"lr": 0.3, "amsgrad": True, "betas": [0.5, 0.9]}, 20, None),
    ("Adam", {"lr": 0.3, "amsgrad": True, "weight_decay": 0.2, "betas": [0.5, 0.9]}, 20, None),
    ("Adam", {"lr": 0.3, "betas": [0.8, 0.99], "eps": 1e-6}, 20, None),
]


def loss_of(p):
    a = torch.tensor(CURVATURE, dtype=torch.float64)
    t = torch.tensor(TARGET, dtype=torch.float64)
    return (a * (p - t) ** 2).sum()


def record(name, kwargs, steps, change, starts):
    params = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
    optimizer = getattr(torch.optim, name)(params, **kwargs)
    trajectory = []
    for step in range(1, steps + 1):
        if change and step == change["at_step"]:
            optimizer.param_groups[0]["lr"] = change["lr"]
        optimizer.zero_grad()
        sum(loss_of(p) for p in params).backward()
        optimizer.step()
        trajectory.append([p.detach().tolist() for p in params])
    return {"optimizer": name, "kwargs": kwargs, "steps": steps, "lr_change": change,
            "starts": starts, "params_after": trajectory}


def main() -> None:
    cases = [record(name, kwargs, steps, change, [START]) for name, kwargs, steps, change in CASES]
    cases.append(record("Adam", {"lr": 0.1}, 5, None, [START, [-2 * v for v in START]]))
    about = (f"Recorded with PyTorch {torch.__version__} by record_optim_traces.py: L(p) = sum(curvature * "
             "(p - target)^2) per parameter tensor, float64; params_after[step][tensor] after each step; "
             "lr_change: the group's lr is set before that step's gradient.")
    out = {"about": about, "curvature": CURVATURE, "target": TARGET, "cases": cases}
    path = Path(__file__).with_name("optim_traces.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
