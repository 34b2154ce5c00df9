"""Keep your work: a saved session loads back equal and continues bit for bit; a save
killed halfway leaves the previous file readable; a bad, truncated, newer or tampered
session file is refused with one line; the loss history exports as CSV."""
from __future__ import annotations

import copy
import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine.training.session as session
from data import load_csv
from engine.training.session import (
    SessionError,
    export_history_csv,
    history_csv,
    load_session,
    save_session,
    session_from_dict,
    session_to_dict,
)
from engine.training.trainer import Hyperparameters, Setup, Trainer

ROOT = Path(__file__).resolve().parent.parent

RUNS = {
    "sgd": (Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2)),
    "momentum+nesterov+wd": (Setup(input_transform="scale"),
                             Hyperparameters(learning_rate=1e-3, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam-mlp-split": (Setup(model="mlp:8", input_transform="standardize", val_fraction=0.3, split_seed=3),
                       Hyperparameters(optimizer="adam", learning_rate=0.05)),
    "poly-float64": (Setup(dataset="overfit", model="poly:5", input_transform="standardize", val_fraction=0.3,
                           dtype="float64"), Hyperparameters(optimizer="adam", learning_rate=0.05)),
    "accumulating-grads": (Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-4, zero_grad=False)),
    "diverged": (Setup(input_transform="none"), Hyperparameters(learning_rate=1e-2)),  # inf at epoch 11
    "book-split": (Setup(input_transform="scale", train_indices=(9, 6, 5, 8, 4, 7, 0, 1, 3), val_indices=(2, 10)),
                   Hyperparameters(learning_rate=1e-2)),
    "adam-mlp-split-batch3": (Setup(model="mlp:8", input_transform="standardize", val_fraction=0.3, batch_seed=2),
                              Hyperparameters(optimizer="adam", learning_rate=0.05, batch_size=3)),
    "diverged-batch4": (Setup(input_transform="none"), Hyperparameters(learning_rate=7e-4, batch_size=4)),
}


def trained(name: str, epochs: int) -> Trainer:
    setup, hyper = RUNS[name]
    trainer = Trainer(setup, hyper)
    trainer.train(epochs)
    return trainer


def same_arrays(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def assert_same_run(a: Trainer, b: Trainer) -> None:
    """Bit for bit: parameters, gradients, optimizer state, history, tracking, snapshot."""
    sa, sb = a.state_dict(), b.state_dict()
    assert (sa["epoch"], sa["state"], sa["stopped_early"]) == (sb["epoch"], sb["state"], sb["stopped_early"])
    assert (sa["steps"], sa["batch_rng"]) == (sb["steps"], sb["batch_rng"])
    hb_a, hb_b = sa["batch_history"], sb["batch_history"]
    assert (hb_a["total_epochs"], hb_a["bucket_width"], hb_a["open"]) == (hb_b["total_epochs"], hb_b["bucket_width"],
                                                                           hb_b["open"])
    for k in hb_a["buckets"]:
        assert same_arrays(hb_a["buckets"][k], hb_b["buckets"][k]), k
    for key in ("params", "grads"):
        for x, y in zip(sa[key], sb[key]):
            assert (x is None and y is None) or same_arrays(x, y), key
    assert sa["optimizer"]["state"].keys() == sb["optimizer"]["state"].keys()
    for i, entry in sa["optimizer"]["state"].items():
        for k, v in entry.items():
            other = sb["optimizer"]["state"][i][k]
            assert same_arrays(v, other) if isinstance(v, np.ndarray) else v == other, k
    ha, hb = sa["history"], sb["history"]
    assert (ha["capacity"], ha["bucket_width"], ha["total_epochs"]) == (hb["capacity"], hb["bucket_width"], hb["total_epochs"])
    for k in ha["buckets"]:
        assert same_arrays(ha["buckets"][k], hb["buckets"][k]), k
    assert np.array_equal(np.array(ha["open"] or [], dtype=float), np.array(hb["open"] or [], dtype=float), equal_nan=True)
    assert sa["best_val"]["epoch"] == sb["best_val"]["epoch"]
    assert sa["best_val"]["loss"] == sb["best_val"]["loss"] or (sa["best_val"]["loss"] != sa["best_val"]["loss"])
    assert [f["epoch"] for f in sa["rewind"]] == [f["epoch"] for f in sb["rewind"]]
    for fa, fb in zip(sa["rewind"], sb["rewind"]):  # each frame whole: stepping back after a load is exact too
        assert fa["hyper"] == fb["hyper"] and fa["history_mark"] == fb["history_mark"] and fa["state"] == fb["state"]
        assert (fa["steps"], fa["batch_rng"], fa["batch_history_mark"]) == (fb["steps"], fb["batch_rng"],
                                                                              fb["batch_history_mark"])
        for key in ("params", "grads"):
            assert all((x is None and y is None) or same_arrays(x, y) for x, y in zip(fa[key], fb[key])), key
        for i, entry in fa["optimizer"]["state"].items():
            assert all(same_arrays(v, fb["optimizer"]["state"][i][k]) for k, v in entry.items())
    snap_a, snap_b = a.snapshot(), b.snapshot()
    assert snap_a.setup == snap_b.setup and snap_a.hyper == snap_b.hyper
    assert same_arrays(snap_a.train_loss, snap_b.train_loss) and snap_a.val_loss == snap_b.val_loss
    assert snap_a.overfitting_since == snap_b.overfitting_since and snap_a.warning == snap_b.warning
    assert same_arrays(snap_a.fit_y, snap_b.fit_y)


# ---------------------------------------------------------------------- round trip and continuation
@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_saved_session_loads_back_equal(name, tmp_path):
    trainer = trained(name, 137)
    path = save_session(trainer, tmp_path / "run.kepler.json")
    loaded, ghosts = load_session(path)
    assert ghosts == []
    assert_same_run(trainer, loaded)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_loaded_session_continues_exactly_where_it_was(name, tmp_path):
    straight = trained(name, 700)
    first = trained(name, 300)
    save_session(first, tmp_path / "run.json")
    continued, _ = load_session(tmp_path / "run.json")
    continued.train(400)
    assert_same_run(straight, continued)


def test_continuing_across_a_history_merge(tmp_path):
    # 2048 buckets fill after 2048 epochs; the history then keeps an open bucket between merges.
    straight = trained("sgd", 5001)
    first = trained("sgd", 4099)
    assert first.state_dict()["history"]["open"] is not None
    save_session(first, tmp_path / "run.json")
    continued, _ = load_session(tmp_path / "run.json")
    continued.train(902)
    assert_same_run(straight, continued)


def test_a_diverged_run_stays_diverged_and_explains_itself(tmp_path):
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-2))
    trainer.train(100)
    loaded, _ = load_session(save_session(trainer, tmp_path / "boom.json"))
    assert loaded.state == "diverged" and not loaded.can_step
    d = loaded.snapshot().divergence
    assert d.epoch == 11 and math.isinf(d.loss) and d.grad_ratio()[:2] == ("w", "b")
    assert math.isinf(loaded.snapshot().history.train_loss[-1])


def test_early_stopping_and_best_validation_survive(tmp_path):
    setup = Setup(model="mlp:24", input_transform="standardize", val_fraction=0.3, split_seed=3)
    trainer = Trainer(setup, Hyperparameters(optimizer="adam", learning_rate=0.05, epochs=3000, early_stopping=True))
    snap = trainer.train(3000)
    assert snap.stopped_early
    loaded, _ = load_session(save_session(trainer, tmp_path / "stopped.json"))
    again = loaded.snapshot()
    assert again.stopped_early and again.state == "finished" and again.best_val_epoch == snap.best_val_epoch


def test_rewind_works_after_loading(tmp_path):
    trainer = trained("sgd", 50)
    loaded, _ = load_session(save_session(trainer, tmp_path / "r.json"))
    assert loaded.rewind(10) == trainer.rewind(10) == 40
    assert_same_run(trainer, loaded)
    small, _ = load_session(save_session(trained("sgd", 50), tmp_path / "s.json", rewind=False))
    assert small.rewind_depth == 0 and small.epoch == 50


def test_a_running_run_loads_paused():
    trainer = trained("sgd", 5)
    trainer.state = "running"
    loaded, _ = session_from_dict(session_to_dict(trainer))
    assert loaded.state == "paused"


def test_ghosts_come_back(tmp_path):
    ghosts = [{"label": "lr=0.01", "fit_y": np.linspace(0, 1, 5, dtype=np.float32), "final": float("inf"),
               "history": [1.5, float("nan"), 2], "flags": (True, None)}]
    _, back = load_session(save_session(trained("sgd", 3), tmp_path / "g.json", ghosts=ghosts))
    g = back[0]
    assert g["label"] == "lr=0.01" and g["fit_y"].dtype == np.float32 and np.array_equal(g["fit_y"], ghosts[0]["fit_y"])
    assert math.isinf(g["final"]) and math.isnan(g["history"][1]) and g["flags"] == [True, None]
    with pytest.raises(SessionError, match="ghosts"):
        save_session(trained("sgd", 1), tmp_path / "bad.json", ghosts=[object()])


# ---------------------------------------------------------------------- datasets in a session
def test_a_builtin_is_saved_by_reference(tmp_path):
    doc = json.loads((save_session(trained("sgd", 2), tmp_path / "ref.json")).read_text())
    assert doc["format"] == "kepler-session" and doc["version"] == 3
    assert doc["dataset"]["builtin"] == "thermometer" and "x" not in doc["dataset"]


def test_a_users_file_is_saved_inside_the_session(tmp_path):
    csv = tmp_path / "lab.csv"
    csv.write_text("day;t_u;t_c\n1;35,7;0,5\n2;55,9;14\n3;58,2;15\n4;81,9;28\n5;56,3;11\n")
    setup = Setup(dataset=str(csv), x_column="t_u", y_column="t_c", input_transform="scale")
    trainer = Trainer(setup, Hyperparameters(learning_rate=1e-2, momentum=0.5))
    trainer.train(60)
    path = save_session(trainer, tmp_path / "lab.json")
    csv.unlink()  # self-contained: the file is no longer needed
    loaded, _ = load_session(path)
    assert loaded.setup == setup and loaded.dataset.x.tolist() == [35.7, 55.9, 58.2, 81.9, 56.3]
    assert (loaded.dataset.x_label, loaded.dataset.y_label) == ("t_u", "t_c")
    trainer.train(40)
    loaded.train(40)
    assert_same_run(trainer, loaded)
    loaded.reset(Setup(dataset=str(csv), x_column="t_u", y_column="t_c", model="poly:2", input_transform="scale"))
    assert len(loaded.dataset) == 5  # a new model on the same (embedded) points


def test_edited_builtin_points_are_saved_as_points(tmp_path):
    trainer = Trainer(Setup(input_transform="scale"))
    d = trainer.dataset
    trainer.reset(dataset=d.with_points(np.append(d.x, 90.0), np.append(d.y, 0.0)))
    trainer.train(10)
    path = save_session(trainer, tmp_path / "edited.json")
    assert "x" in json.loads(path.read_text())["dataset"]
    loaded, _ = load_session(path)
    assert len(loaded.dataset) == 12 and loaded.dataset.x[-1] == 90.0
    assert_same_run(trainer, loaded)


# ---------------------------------------------------------------------- atomic writes
SLOW_SAVE = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
import engine.training.session as session
from engine.training.trainer import Hyperparameters, Setup, Trainer

def slow_write(f, data):
    step = max(1, len(data) // 100)
    for start in range(0, len(data), step):
        f.write(data[start:start + step])
        f.flush()
        if start == 0:
            print("writing", flush=True)
        time.sleep(0.05)

session._write_all = slow_write
trainer = Trainer(Setup(model="mlp:64", input_transform="standardize"), Hyperparameters(optimizer="adam"))
trainer.train(300)
session.save_session(trainer, sys.argv[1])
print("done", flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_a_save_killed_halfway_leaves_the_old_file_readable(tmp_path):
    path = tmp_path / "work.json"
    save_session(trained("sgd", 20), path)
    old = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path), str(ROOT)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing", child.stderr.read()
        partial = [p for p in tmp_path.iterdir() if p.name.startswith(".work.json.") and p.suffix == ".tmp"]
        assert len(partial) == 1 and 0 < partial[0].stat().st_size  # caught in the middle of writing
        assert path.read_bytes() == old
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == old
    loaded, _ = load_session(path)
    assert loaded.epoch == 20
    save_session(trained("sgd", 30), path)  # and the next save goes through
    assert load_session(path)[0].epoch == 30


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "work.json"
    save_session(trained("sgd", 20), path)
    old = path.read_bytes()

    def disk_full(f, data):
        f.write(data[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session, "_write_all", disk_full)
    with pytest.raises(SessionError, match=r"work.json: cannot write \(No space left on device\)"):
        save_session(trained("sgd", 30), path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["work.json"]


def test_saving_into_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(SessionError, match="cannot write"):
        save_session(trained("sgd", 1), tmp_path / "nowhere" / "s.json")
    with pytest.raises(SessionError, match="is a folder"):
        save_session(trained("sgd", 1), tmp_path)


def test_saving_keeps_the_old_files_permissions(tmp_path):
    path = tmp_path / "shared.json"
    save_session(trained("sgd", 1), path)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    save_session(trained("sgd", 2), path)
    assert path.stat().st_mode & 0o777 == 0o640


# ---------------------------------------------------------------------- refusing bad files
@pytest.fixture(scope="module")
def good_doc() -> dict:
    return session_to_dict(trained("adam-mlp-split", 40), ghosts=[{"a": 1}])


def refused_doc(doc, tmp_path, name="bad.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return refused_file(path)


def refused_file(path) -> str:
    with pytest.raises(SessionError) as caught:
        load_session(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_a_newer_version_is_refused_politely(good_doc, tmp_path):
    doc = dict(good_doc, version=4, new_feature={"anything": True})
    message = refused_doc(doc, tmp_path)
    assert "saved by a newer Kepler (session version 4)" in message
    assert "this Kepler reads version 3" in message and "update Kepler" in message


@pytest.mark.parametrize("version", [0, "1", None, 1.0, True, -3])
def test_an_unknown_version_is_refused(good_doc, tmp_path, version):
    assert "unknown session version" in refused_doc(dict(good_doc, version=version), tmp_path)


def test_a_truncated_file_is_refused(good_doc, tmp_path):
    text = json.dumps(good_doc, indent=1)
    for cut in (len(text) // 2, len(text) - 2, 10):
        path = tmp_path / "cut.json"
        path.write_text(text[:cut])
        assert "the session file is truncated" in refused_file(path)


def test_a_corrupted_file_is_refused(good_doc, tmp_path):
    text = json.dumps(good_doc, indent=1)
    path = tmp_path / "flipped.json"
    path.write_text(text[:500] + "}{" + text[502:])
    assert "the session file is corrupted" in refused_file(path)
    path.write_text(text.replace('"first_loss": ', '"first_loss": NaN, "x": ', 1))
    assert "NaN is not JSON" in refused_file(path)
    path.write_text("[" * 100_000)
    assert "corrupted" in refused_file(path) or "truncated" in refused_file(path)


@pytest.mark.parametrize("content, words", [
    (b"", "the file is empty"),
    (b"\x80\x81\x82binary", "not UTF-8"),
    (pickle.dumps({"format": "kepler-session"}), "not"),  # never unpickled: just not JSON
    (b'{"hello": "world"}', "not a Kepler session file"),
    (b"[1, 2, 3]", "not a Kepler session file"),
])
def test_things_that_are_not_sessions(tmp_path, content, words):
    path = tmp_path / "other.json"
    path.write_bytes(content)
    assert words in refused_file(path)


def test_missing_and_folder_paths(tmp_path):
    assert refused_file(tmp_path / "nope.json").endswith("no such file")
    with pytest.raises(SessionError, match="is a folder"):
        load_session(tmp_path)


@pytest.mark.parametrize("where, value, words", [
    (("trainer", "epoch"), "forty", "field 'trainer.epoch' should be a whole number, not a string"),
    (("trainer", "stopped_early"), 0, "field 'trainer.stopped_early' should be true or false"),
    (("hyperparameters", "learning_rate"), "fast", "field 'hyperparameters.learning_rate' should be a number"),
    (("setup", "model"), 3, "field 'setup.model' should be a string"),
    (("trainer", "params"), {"w": 1}, "field 'trainer.params' should be a list, not an object"),
    (("trainer", "history", "buckets", "train"), [1, "x"], "field 'trainer.history.buckets.train[1]' should be a number"),
    (("dataset",), [], "field 'dataset' should be an object"),
    (("ghosts",), {}, "field 'ghosts' should be a list"),
])
def test_wrong_types_are_named(good_doc, tmp_path, where, value, words):
    doc = copy.deepcopy(good_doc)
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert words in refused_doc(doc, tmp_path)


@pytest.mark.parametrize("where", [("trainer", "params"), ("setup", "dtype"), ("dataset", "sha256"), ("trainer",),
                                   ("trainer", "history", "open")])
def test_missing_fields_are_named(good_doc, tmp_path, where):
    doc = copy.deepcopy(good_doc)
    target = doc
    for key in where[:-1]:
        target = target[key]
    del target[where[-1]]
    assert f"field '{'.'.join(where)}' is missing" in refused_doc(doc, tmp_path)


def test_inconsistent_contents_are_refused(good_doc, tmp_path):
    doc = copy.deepcopy(good_doc)
    doc["trainer"]["params"][0]["shape"] = [3, 1]
    doc["trainer"]["params"][0]["data"] = [1.0, 2.0, 3.0]
    assert "the saved run is inconsistent" in refused_doc(doc, tmp_path)

    doc = copy.deepcopy(good_doc)
    del doc["trainer"]["optimizer"]["state"]["0"]["exp_avg_sq"]  # Adam could not take a step without it
    assert "optimizer state hidden_linear.weight.exp_avg_sq should be an array" in refused_doc(doc, tmp_path)

    doc = copy.deepcopy(good_doc)
    doc["hyperparameters"]["learning_rate"] = -1
    assert "a saved setting is out of range: learning rate must be a positive number" in refused_doc(doc, tmp_path)

    doc = copy.deepcopy(good_doc)
    doc["dataset"]["sha256"] = "0" * 64
    assert "the built-in dataset 'thermometer' has changed since this session was saved" in refused_doc(doc, tmp_path)

    doc = copy.deepcopy(good_doc)
    doc["dataset"]["builtin"] = "lost"
    assert "which this Kepler does not have" in refused_doc(doc, tmp_path)

    doc = copy.deepcopy(good_doc)
    doc["trainer"]["params"][0]["dtype"] = "object"
    assert "arrays are float32, float64, int64" in refused_doc(doc, tmp_path)


def test_random_damage_is_always_a_session_error(good_doc):
    """Whatever a damaged file holds, loading it either works or says why in one line."""
    rng = random.Random(7)
    junk = [None, True, -1, 0, 2**70, 1e308, "nan", "x", [], {}, [1, 2], {"dtype": "float32"}, 0.5, 10**6]
    leaves = []

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in items:
            leaves.append(path + (key,))
            if len(leaves) < 5000:
                walk(child, path + (key,))

    walk(good_doc, ())
    for _ in range(300):
        doc = copy.deepcopy(good_doc)
        path = rng.choice(leaves)
        target = doc
        for key in path[:-1]:
            target = target[key]
        if rng.random() < 0.2 and isinstance(target, dict):
            del target[path[-1]]
        else:
            target[path[-1]] = rng.choice(junk)
        try:
            trainer, _ = session_from_dict(json.loads(json.dumps(doc)), where="fuzz")
        except SessionError as exc:
            assert "\n" not in str(exc)
            continue
        trainer.snapshot()  # what did load must also run: the app goes on with it
        trainer.train(3)
        trainer.rewind(2)
        trainer.step()


# ---------------------------------------------------------------------- exporting the history
def test_history_exports_as_csv(tmp_path):
    trainer = trained("book-split", 30)
    path = export_history_csv(trainer, tmp_path / "history.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss" and len(lines) == 31
    cols = trainer.history.columns()
    epoch, train, val = lines[1].split(",")
    assert int(epoch) == 1 and float(train) == cols["train"][0] and float(val) == cols["val"][0]
    back = load_csv(path, "epoch", "train_loss")  # the exported file is a dataset in its own right
    assert back.y.tolist() == cols["train"].tolist()


def test_history_without_a_split_or_after_divergence():
    trainer = Trainer(Setup(), Hyperparameters(learning_rate=1e-2))
    trainer.train(100)
    lines = history_csv(trainer).splitlines()
    assert lines[1] == "1,1763.8846435546875," and lines[-1] == "11,inf,"


def test_a_running_app_can_switch_to_a_loaded_session(tmp_path):
    from engine.training.runner import BackgroundTrainer

    path = save_session(trained("adam-mlp-split", 80), tmp_path / "earlier.json")
    runner = BackgroundTrainer(trained("sgd", 5), threaded=False)
    seen = []
    runner.add_listener(seen.append)
    loaded, _ = load_session(path)
    runner.pause()
    runner.call(lambda t: t.take_over(loaded))
    assert seen[-1].epoch == 80 and seen[-1].setup.model == "mlp:8"
    runner.step(20)
    assert runner.latest.epoch == 100
    straight = trained("adam-mlp-split", 100)
    straight.state = "paused"  # the runner pauses after stepping; Trainer.train leaves the state alone
    assert_same_run(straight, runner.trainer)


# ---------------------------------------------------------------------- issue 9, defect 9
@pytest.mark.parametrize("kind", ["fifo", "socket", "folder"])
def test_write_atomic_replaces_only_regular_files(tmp_path, kind):
    import os
    import socket
    import stat as st

    from engine.training.session import SessionError, target_problem, write_atomic

    target = tmp_path / "target"
    sock = None
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    else:
        target.mkdir()
    before = target.lstat().st_mode
    try:
        assert target_problem(target)
        with pytest.raises(SessionError, match="not a regular file|is a folder"):
            write_atomic(target, "text")
        assert st.S_IFMT(target.lstat().st_mode) == st.S_IFMT(before)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]  # no temporary file left
    finally:
        if sock is not None:
            sock.close()
    regular = tmp_path / "regular.csv"
    regular.write_text("old")
    assert target_problem(regular) is None
    write_atomic(regular, "new")
    assert regular.read_text() == "new"


def test_write_atomic_keeps_the_temporary_name_legal_for_a_long_file_name(tmp_path):
    from engine.training.session import write_atomic

    target = tmp_path / ("n" * 250)
    write_atomic(target, "text")
    assert target.read_text() == "text"


def test_a_big_network_keeps_the_newest_rewind_frames_that_fit(tmp_path):
    trainer = Trainer(Setup(model="mlp:512", input_transform="standardize"),
                      Hyperparameters(optimizer="adam", learning_rate=0.01))
    trainer.train(Trainer.REWIND_DEPTH + 4)
    path = save_session(trainer, tmp_path / "big.json")
    assert path.stat().st_size < session.MAX_SESSION_BYTES / 4
    loaded, _ = load_session(path)
    assert 1 < loaded.rewind_depth < Trainer.REWIND_DEPTH - 1  # the newest frames, not all of them
    epoch = loaded.epoch - loaded.rewind_depth
    assert loaded.rewind(loaded.rewind_depth) == trainer.rewind(trainer.epoch - epoch) == epoch
    a, b = loaded.state_dict(), trainer.state_dict()
    assert all(same_arrays(x, y) for x, y in zip(a["params"], b["params"]))
    assert all(same_arrays(v, b["optimizer"]["state"][i][k]) for i, e in a["optimizer"]["state"].items() for k, v in e.items())
    loaded.train(3), trainer.train(3)  # and on from there, bit for bit
    assert all(same_arrays(x, y) for x, y in zip(loaded.state_dict()["params"], trainer.state_dict()["params"]))
