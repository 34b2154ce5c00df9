"""The backprop view (B): the loss's graph, its backward pass one node at a time, and .grad
as the gradient check and the Parameters table print it."""
from __future__ import annotations

import numpy as np

from engine.training.trainer import Hyperparameters, Setup
from tui.screens.backprop import BackpropScreen, few
from tui.screens.gradient_check import GradientCheckScreen, element_label, number
from tui.screens.trainer import TrainerScreen
from tui.widgets.param_table import ParamTable

from pilot_helpers import burst, make_app, notifications

LINE_ORDER = ["MeanBackward0", "PowBackward0", "SubBackward0", "AddBackward0", "MulBackward0"]


async def to_the_end(pilot, screen: BackpropScreen) -> None:
    for _ in range(len(screen.current.steps) + 1):
        await pilot.press("n")


async def test_B_walks_the_lines_backward_pass_and_grad_is_what_g_and_the_table_print():
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4, epochs=5000))  # the chapter's raw readings
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("B")
        screen = app.screen
        assert isinstance(screen, BackpropScreen)
        shown = screen.text
        for name in LINE_ORDER:
            assert name in shown
        assert "1763.8846" in shown and "none yet" in shown  # the loss at w = 1, b = 0; no .grad yet
        new_grads = {4: "b.grad = 82.6000", 5: "w.grad = 4517.2969"}  # the book's gradient, b's first
        for k, name in enumerate(LINE_ORDER, 1):
            await pilot.press("n")
            assert f"Step {k} of 5: {name}" in screen.text
            assert (new_grads.get(k, ".grad =") in screen.text) == (k in new_grads)
        await pilot.press("n")
        check, table = screen.check_rows(screen.current), screen.table_rows(screen.current)
        assert [r[0] for r in check] == ["w", "b"] and all(ours == theirs for _, ours, theirs in check + table)
        assert "DIFFERENT" not in screen.text and screen.text.count("equal") == 4
        ours = {label: value for label, value, _ in check}
        signed = {label: value for label, value, _ in table}
        await pilot.press("escape", "g")  # the gradient check, as it prints it
        assert isinstance(app.screen, GradientCheckScreen)
        checks = app.screen.checks
        assert {element_label(c, checks.total_elements): number(c.autograd) for c in checks} == ours
        await pilot.press("escape", "n")  # one epoch: the Parameters table's "last grad"
        rows = {line.split()[0]: line.split()[2] for line in app.query_one(ParamTable).text.splitlines()[1:3]}
        assert rows == signed


async def test_with_zero_grad_off_the_next_epoch_adds_to_the_old_grad():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "n", "B")  # accumulate, one epoch: there is an old .grad
        screen = app.screen
        old = {n: float(v) for n, v in app.snapshot.grads.items()}
        assert f"old {number(old['w'])}" in screen.text
        await to_the_end(pilot, screen)
        first = screen.current
        assert "added by this pass" in screen.text and "DIFFERENT" not in screen.text
        assert all(ours == theirs for _, ours, theirs in screen.check_rows(first) + screen.table_rows(first))
        await pilot.press("n")  # the optimizer's step, then epoch 3's pass
        assert screen.current.epoch == 3 and "optimizer.step()" in screen.text
        await to_the_end(pilot, screen)
        second = screen.current
        w_old, w_new = float(first.grads["w"]), float(second.grads["w"])
        assert w_new == np.float32(w_old) + np.float32(second.added["w"])
        assert f"w.grad: old {number(w_old)} + {number(float(second.added['w']))} = {number(w_new)}" in \
            screen.step_words(second, len(second.steps))
        # back and forth: p returns to where n came from
        await pilot.press("p")
        assert "Step 5 of 5: MulBackward0" in screen.text
        await pilot.press("r")
        assert screen.current.epoch == 2 and "Forward pass of epoch 2" in screen.text
        assert app.snapshot.epoch == 1  # the run itself did not move


async def test_a_inside_the_view_switches_zero_grad_and_walks_again():
    app = make_app(pretrain=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("B")
        screen = app.screen
        assert screen.current.zero_grad
        await pilot.press("n", "a")
        assert not screen.current.zero_grad and not app.snapshot.hyper.zero_grad
        assert screen.position == 0 and "old .grad is still there" in screen.text


async def test_the_mlp_groups_its_layers_and_says_so():
    app = make_app(Setup(model="mlp:8", input_transform="scale", input_scale=0.1),
                   Hyperparameters(learning_rate=1e-2), pretrain=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("B")
        screen = app.screen
        assert "each layer x Wᵀ + b is one node (AddmmBackward0)" in screen.text
        assert screen.text.count("AddmmBackward0") >= 2 and "TanhBackward0" in screen.text
        await to_the_end(pilot, screen)
        rows = screen.check_rows(screen.current) + screen.table_rows(screen.current)
        assert len(rows) > 4 and all(ours == theirs for _, ours, theirs in rows)
        ours = {label: value for label, value, _ in screen.table_rows(screen.current)}
        await pilot.press("escape", "n")
        table = {line.split()[0]: line.split() for line in app.query_one(ParamTable).text.splitlines()[1:5]}
        for label, value in ours.items():  # |grad| per tensor, printed the same
            assert value in table[label], (label, table[label])


async def test_ascii_shows_no_other_characters():
    for setup in (Setup(), Setup(model="mlp:4", input_transform="scale", input_scale=0.1)):
        app = make_app(setup, Hyperparameters(learning_rate=1e-4, zero_grad=False), pretrain=1, ascii_plots=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("B")
            screen = app.screen
            for _ in range(2 * (len(screen.current.steps) + 2)):  # two epochs, every step
                texts = [screen.text] + [str(s.content) for s in screen.query("Static")]
                assert all(c.isascii() for text in texts for c in text), [c for t in texts for c in t if not c.isascii()]
                await pilot.press("n")


async def test_a_diverged_run_opens_too():
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-2), pretrain=20)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.snapshot.state == "diverged"
        await pilot.press("B")
        screen = app.screen
        assert isinstance(screen, BackpropScreen) and "inf" in screen.text
        await to_the_end(pilot, screen)
        assert "Done" in screen.text


def test_few_values_say_the_shape():
    assert few(np.float32(3.5), ()) == "3.5000"
    assert few(np.arange(11, dtype=np.float32), (11,), 20) == "[11] 0 1 2 3 4 5 6 …"  # 20 characters
    assert few(np.zeros((2, 3)), (2, 3), 40) == "[2×3] 0 0 0 0 0 0"


async def test_a_burst_is_safe():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(pilot, "B", "n", "n", "n", "escape", "escape", "B", "B", "B", "p", "r", "escape")
        assert app.is_running and isinstance(app.screen_stack[0], TrainerScreen)
        if len(app.screen_stack) > 1:
            await pilot.press("escape")
        assert app.screen_stack == [app.trainer_screen]


async def test_the_palette_has_a_backprop_entry():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        command = next(c for c in app.get_system_commands(app.screen) if "backprop" in c.title.lower())
        assert command.title.endswith("(B)")
        result = command.callback()
        if result is not None:
            await result
        await pilot.pause()
        assert isinstance(app.screen, BackpropScreen)


def test_the_backprop_view_at_80x24(snap_compare):
    assert snap_compare(make_app(Setup(), Hyperparameters(learning_rate=1e-4)), terminal_size=(80, 24),
                        press=["B", "n", "n", "n", "n"])


def test_the_backprop_view_at_120x40_mlp(snap_compare):
    app = make_app(Setup(model="mlp:8", input_transform="scale", input_scale=0.1), Hyperparameters(learning_rate=1e-2),
                   pretrain=3)
    assert snap_compare(app, terminal_size=(120, 40), press=["B", "n", "n", "n"])


def test_the_backprop_view_at_120x40_line_done(snap_compare):
    assert snap_compare(make_app(pretrain=2), terminal_size=(120, 40), press=["B"] + ["n"] * 6)


def test_the_backprop_view_in_ascii(snap_compare):
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4), ascii_plots=True)
    assert snap_compare(app, terminal_size=(80, 24), press=["B", "n", "n", "n", "n"])


async def test_with_mini_batches_the_view_says_how_to_get_a_full_batch_step():
    """The walk is of one full-batch step (what the Parameters table shows after it); with
    batches the table shows the last batch's gradient, so the view does not open on a lie."""
    app = make_app(hyper=Hyperparameters(learning_rate=1e-2, epochs=5000, batch_size=4))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("B")
        assert app.screen is app.trainer_screen
        assert "batches of 4" in notifications(app)[-1] and "full" in notifications(app)[-1]
        await pilot.press("u", "B")  # 4 -> full (on 11 points u offers full, 1, 4)
        assert isinstance(app.screen, BackpropScreen)
