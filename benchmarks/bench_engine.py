"""How fast the engine trains, against hand-written numpy and PyTorch, measured in one run.

Three workloads, each run by every variant from the same starting parameters:

  a. chapter 5's line: 11 thermometer points, t_un = 0.1 * t_u, lr 1e-2, 5000 epochs, float32,
     w * x + b from w=1, b=0. The engine runs it twice: (i) the book's own loop (a params
     tensor, `model(t_u, *params)`, `((t_p - t_c)**2).mean()`, backward, `params -= lr *
     params.grad` under no_grad) and (ii) the fastest idiomatic path (scalar Parameters,
     `ops.scale_shift`, `F.mse_loss`, `optim.SGD`).
  b. an MLP 1-13-1 with tanh on the same 11 points (chapter 6), SGD lr 1e-3.
  c. an MLP 1-64-64-1 with tanh on 10,000 synthetic points (y = sin x + noise), full batch,
     SGD lr 1e-2.

The references are hand-derived numpy gradients (always; written below) and PyTorch (only when
`import torch` works: it is optional, never a dependency). Everything runs on one BLAS thread.

Machines are shared and noisy, so the variants of a workload are interleaved, round after
round, in a rotating order, after one untimed round; a rate is the median over rounds and a
ratio is the median of the ratios taken within each round (both sides measured seconds apart).
Where PyTorch runs two variants, the faster one is the reference.

    .venv/bin/python benchmarks/bench_engine.py            # the full table
    .venv/bin/python benchmarks/bench_engine.py --quick    # fewer epochs and rounds (smoke test)
    .venv/bin/python benchmarks/bench_engine.py --only c   # one workload

Targets (2-core machine): engine >= 3x PyTorch on (a) and (b), >= 1.0x PyTorch on (c), and
engine within 3x of hand numpy on (a) (engine / numpy >= 0.33); (a) is judged on the faster of
the two engine variants.
"""
from __future__ import annotations

import os

# One BLAS thread for numpy and PyTorch alike; this must happen before numpy is imported.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine import nn, optim  # noqa: E402
from engine.nn import functional as F  # noqa: E402
from engine.ops import scale_shift  # noqa: E402

try:
    import torch
except ImportError:
    torch = None
else:
    torch.set_num_threads(1)

T_U = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
T_C = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
LINE_LR = 1e-2
MLP_SMALL_LR = 1e-3
MLP_BIG_LR = 1e-2
BIG_POINTS = 10_000


# ====================================================================== (a) the line
def line_engine_book(epochs: int) -> tuple[float, float]:
    """The book's loop, word for word, with `import engine as torch`."""
    t_u = engine.tensor(T_U)
    t_c = engine.tensor(T_C)
    t_un = 0.1 * t_u
    params = engine.tensor([1.0, 0.0], requires_grad=True)

    def model(t_u, w, b):
        return w * t_u + b

    def loss_fn(t_p, t_c):
        squared_diffs = (t_p - t_c) ** 2
        return squared_diffs.mean()

    start = time.perf_counter()
    for _ in range(epochs):
        if params.grad is not None:
            params.grad.zero_()
        t_p = model(t_un, *params)
        loss = loss_fn(t_p, t_c)
        loss.backward()
        with engine.no_grad():
            params -= LINE_LR * params.grad
    return time.perf_counter() - start, loss.item()


def line_engine_fast(epochs: int) -> tuple[float, float]:
    """The same fit through the engine's fused ops and its optimizer."""
    t_un = 0.1 * engine.tensor(T_U)
    t_c = engine.tensor(T_C)
    w = nn.Parameter(engine.tensor(1.0))
    b = nn.Parameter(engine.tensor(0.0))
    optimizer = optim.SGD([w, b], lr=LINE_LR)

    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.mse_loss(scale_shift(t_un, w, b), t_c)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, loss.item()


def line_numpy(epochs: int) -> tuple[float, float]:
    """Gradients derived by hand: L = mean((w x + b - y)^2), dL/dw = mean(2 (w x + b - y) x),
    dL/db = mean(2 (w x + b - y))."""
    x = np.float32(0.1) * np.array(T_U, dtype=np.float32)
    y = np.array(T_C, dtype=np.float32)
    n = x.size
    w = np.float32(1.0)
    b = np.float32(0.0)
    lr = np.float32(LINE_LR)
    two_over_n = np.float32(2.0 / n)

    start = time.perf_counter()
    for _ in range(epochs):
        diff = w * x + b - y
        loss = np.dot(diff, diff) / n  # the loss, as every other variant computes it each epoch
        dloss_dp = diff * two_over_n
        w = w - lr * np.dot(dloss_dp, x)
        b = b - lr * dloss_dp.sum()
    return time.perf_counter() - start, float(loss)


def line_torch_book(epochs: int) -> tuple[float, float]:
    t_u = torch.tensor(T_U)
    t_c = torch.tensor(T_C)
    t_un = 0.1 * t_u
    params = torch.tensor([1.0, 0.0], requires_grad=True)

    def model(t_u, w, b):
        return w * t_u + b

    def loss_fn(t_p, t_c):
        squared_diffs = (t_p - t_c) ** 2
        return squared_diffs.mean()

    start = time.perf_counter()
    for _ in range(epochs):
        if params.grad is not None:
            params.grad.zero_()
        t_p = model(t_un, *params)
        loss = loss_fn(t_p, t_c)
        loss.backward()
        with torch.no_grad():
            params -= LINE_LR * params.grad
    return time.perf_counter() - start, loss.item()


def line_torch_optim(epochs: int) -> tuple[float, float]:
    t_un = 0.1 * torch.tensor(T_U)
    t_c = torch.tensor(T_C)
    w = torch.nn.Parameter(torch.tensor(1.0))
    b = torch.nn.Parameter(torch.tensor(0.0))
    optimizer = torch.optim.SGD([w, b], lr=LINE_LR)

    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(w * t_un + b, t_c)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, loss.item()


# ====================================================================== MLPs (b) and (c)
def mlp_init(sizes: tuple[int, ...]) -> list[np.ndarray]:
    """Starting weights drawn once by the engine's own nn.Linear, shared by every variant."""
    engine.manual_seed(0)
    arrays = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layer = nn.Linear(fan_in, fan_out)
        arrays += [layer.weight.data.copy(), layer.bias.data.copy()]
    return arrays


def engine_mlp(sizes, init, x, y, lr):
    """A runner training nn.Sequential(Linear, Tanh, ..., Linear) the PyTorch way."""

    def run(epochs: int) -> tuple[float, float]:
        layers = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
        model = nn.Sequential(*layers[:-1])
        for p, value in zip(model.parameters(), init):
            p.data[...] = value
        inputs, targets = engine.from_numpy(x), engine.from_numpy(y)
        loss_fn = nn.MSELoss()
        optimizer = optim.SGD(model.parameters(), lr=lr)

        start = time.perf_counter()
        for _ in range(epochs):
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start, loss.item()

    return run


def torch_mlp(sizes, init, x, y, lr):
    def run(epochs: int) -> tuple[float, float]:
        layers = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.Tanh()]
        model = torch.nn.Sequential(*layers[:-1])
        with torch.no_grad():
            for p, value in zip(model.parameters(), init):
                p.copy_(torch.from_numpy(value))
        inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.MSELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)

        start = time.perf_counter()
        for _ in range(epochs):
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start, loss.item()

    return run


def numpy_mlp(init, x, y, lr):
    """Backpropagation written out by hand, layer by layer:
    forward  h_k = tanh(a_k), a_k = h_{k-1} W_k^T + b_k, output a_last, L = mean((a_last - y)^2)
    backward dL/da_last = 2 (a_last - y) / n; for each layer dW = da^T h_prev, db = sum(da),
             dh_prev = da W, and through tanh da_prev = dh_prev (1 - h_prev^2)."""

    def run(epochs: int) -> tuple[float, float]:
        params = [a.copy() for a in init]
        weights, biases = params[0::2], params[1::2]
        n = y.size
        lr32 = np.float32(lr)
        two_over_n = np.float32(2.0 / n)

        start = time.perf_counter()
        for _ in range(epochs):
            activations = [x]
            h = x
            for k, (w, b) in enumerate(zip(weights, biases)):
                a = h @ w.T
                a += b
                h = np.tanh(a) if k < len(weights) - 1 else a
                activations.append(h)
            diff = (h - y).ravel()
            loss = np.dot(diff, diff) / n
            grad = (diff * two_over_n).reshape(h.shape)
            for k in range(len(weights) - 1, -1, -1):
                h_prev = activations[k]
                grad_w = grad.T @ h_prev
                grad_b = grad.sum(axis=0)
                if k:
                    grad = grad @ weights[k]
                    grad *= 1 - h_prev * h_prev
                weights[k] -= lr32 * grad_w
                biases[k] -= lr32 * grad_b
        return time.perf_counter() - start, float(loss)

    return run


# ====================================================================== measuring
def measure(variants: dict, epochs: int, rounds: int) -> dict:
    """Run every variant `rounds` times, interleaved in a rotating order; a warm-up round first."""
    names = list(variants)
    for name in names:  # a whole untimed round: PyTorch's first model alone takes ~100 ms to warm up
        variants[name](epochs)
    rates = {name: [] for name in names}
    losses = {}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            seconds, loss = variants[name](epochs)
            rates[name].append(epochs / seconds)
            losses[name] = loss
    return {"rates": rates, "losses": losses}


def median_ratio(result: dict, name: str, reference: str) -> float:
    rates = result["rates"]
    return statistics.median(a / b for a, b in zip(rates[name], rates[reference]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rounds (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per workload (default 7, 3 with --quick)")
    parser.add_argument("--only", choices=["a", "b", "c"], action="append",
                        help="run only this workload (repeatable)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    have_torch = torch is not None

    print(f"numpy {np.__version__}, one BLAS thread, {rounds} interleaved rounds per workload; "
          + (f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread" if have_torch
             else "PyTorch not installed, skipped"))

    t_un = np.float32(0.1) * np.array(T_U, dtype=np.float32)
    t_c = np.array(T_C, dtype=np.float32)
    rng = np.random.default_rng(0)
    big_x = rng.uniform(-3, 3, (BIG_POINTS, 1)).astype(np.float32)
    big_y = (np.sin(big_x) + 0.1 * rng.standard_normal((BIG_POINTS, 1))).astype(np.float32)
    small_sizes, big_sizes = (1, 13, 1), (1, 64, 64, 1)
    small_init, big_init = mlp_init(small_sizes), mlp_init(big_sizes)
    x_col, y_col = t_un[:, None].copy(), t_c[:, None].copy()

    workloads = [
        {
            "label": "a", "title": "ch.5 line, 11 pts", "epochs": 500 if args.quick else 5000,
            "engine": ["engine book loop", "engine fused+SGD"],
            "variants": {
                "engine book loop": line_engine_book,
                "engine fused+SGD": line_engine_fast,
                "hand numpy": line_numpy,
                **({"torch book loop": line_torch_book, "torch mse+SGD": line_torch_optim} if have_torch else {}),
            },
            "vs_torch": 3.0, "vs_numpy": 0.33,
        },
        {
            "label": "b", "title": "MLP 1-13-1, 11 pts", "epochs": 300 if args.quick else 3000,
            "engine": ["engine"],
            "variants": {
                "engine": engine_mlp(small_sizes, small_init, x_col, y_col, MLP_SMALL_LR),
                "hand numpy": numpy_mlp(small_init, x_col, y_col, MLP_SMALL_LR),
                **({"torch": torch_mlp(small_sizes, small_init, x_col, y_col, MLP_SMALL_LR)} if have_torch else {}),
            },
            "vs_torch": 3.0, "vs_numpy": None,
        },
        {
            "label": "c", "title": f"MLP 1-64-64-1, {BIG_POINTS:,} pts", "epochs": 8 if args.quick else 40,
            "engine": ["engine"],
            "variants": {
                "engine": engine_mlp(big_sizes, big_init, big_x, big_y, MLP_BIG_LR),
                "hand numpy": numpy_mlp(big_init, big_x, big_y, MLP_BIG_LR),
                **({"torch": torch_mlp(big_sizes, big_init, big_x, big_y, MLP_BIG_LR)} if have_torch else {}),
            },
            "vs_torch": 1.0, "vs_numpy": None,
        },
    ]

    header = f"{'workload':<37} {'variant':<17} {'epochs/s':>10} {'vs torch':>9} {'vs numpy':>9} {'final loss':>11}  target"
    print()
    print(header)
    print("-" * (len(header) + 36))
    verdicts = []
    for wl in workloads:
        if args.only and wl["label"] not in args.only:
            continue
        result = measure(wl["variants"], wl["epochs"], rounds)
        rates, losses = result["rates"], result["losses"]
        torch_names = [n for n in wl["variants"] if n.startswith("torch")]
        # The PyTorch reference is its fastest variant: the strictest comparison.
        torch_ref = max(torch_names, key=lambda n: statistics.median(rates[n])) if torch_names else None
        best_engine = max(wl["engine"], key=lambda n: statistics.median(rates[n]))
        title = f"({wl['label']}) {wl['title']}, {wl['epochs']} ep"
        for i, name in enumerate(wl["variants"]):
            # three significant digits, so a ratio just under a target never prints as meeting it
            vs_torch = f"{median_ratio(result, name, torch_ref):#.3g}x" if torch_ref else "n/a"
            vs_numpy = f"{median_ratio(result, name, 'hand numpy'):#.3g}x"
            target = ""
            if name == best_engine:
                checks = []
                if torch_ref:
                    ratio = median_ratio(result, name, torch_ref)
                    ok = ratio >= wl["vs_torch"]
                    checks.append(f">={wl['vs_torch']:g}x torch {'PASS' if ok else 'MISS'}")
                    verdicts.append(ok)
                else:
                    checks.append(f">={wl['vs_torch']:g}x torch skipped")
                if wl["vs_numpy"] is not None:
                    ok = median_ratio(result, name, "hand numpy") >= wl["vs_numpy"]
                    checks.append(f">={wl['vs_numpy']:g}x numpy {'PASS' if ok else 'MISS'}")
                    verdicts.append(ok)
                target = ", ".join(checks)
            elif name == torch_ref and len(torch_names) > 1:
                target = "(torch reference)"
            rate = statistics.median(rates[name])
            print(f"{title if i == 0 else '':<37} {name:<17} {rate:>10,.0f} {vs_torch:>9} {vs_numpy:>9} "
                  f"{losses[name]:>11.6f}  {target}")
        print()
    if not have_torch:
        print("PyTorch not installed, skipped: the PyTorch targets were not checked.")
    print(f"targets: {sum(verdicts)} of {len(verdicts)} checked met")


if __name__ == "__main__":
    main()
