"""Bring your own data: every bad file is refused with one line naming the file, the line
(or column) and the problem; the CSV dialects people really write are read; the built-in
datasets load, say what they teach, and are exactly what their generator writes; a Trainer
refuses a bad file and keeps the run it had."""
from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

import numpy as np
import pytest

import data.loader as loader
from data import DataError, Dataset, builtin_names, file_reference, is_file_reference, load_builtin, load_csv
from engine.training.setup_string import parse_setup_string
from engine.training.trainer import Hyperparameters, SettingError, Setup, Trainer

BAD = Path(__file__).parent / "bad_csv"

# file, column choice, words the message must hold (beside the file's name)
BAD_FILES = [
    ("empty.csv", {}, ["the file is empty"]),
    ("only_comments.csv", {}, ["no data, only comments and blank lines"]),
    ("binary.csv", {}, ["line 3", "binary file"]),
    ("excel_workbook.csv", {}, ["Excel (.xlsx)", "export the sheet as CSV"]),
    ("latin1.csv", {}, ["line 1", "byte 0xe9 is not UTF-8", "save the file as UTF-8"]),
    ("latin1_data_row.csv", {}, ["line 4", "byte 0xe9 is not UTF-8"]),
    ("one_row.csv", {}, ["line 2", "only one data row"]),
    ("header_only.csv", {}, ["line 1", "a header row but no data rows"]),
    ("one_column.csv", {}, ["line 1", "only one column"]),
    ("non_numeric.csv", {}, ["line 4", "column 't_c'", "'fifteen' is not a number"]),
    ("empty_cell.csv", {}, ["line 3", "column 't_u'", "the cell is empty"]),
    ("nan_value.csv", {}, ["line 3", "column 't_c'", "'NaN' is not a finite number"]),
    ("inf_value.csv", {}, ["line 4", "column 't_u'", "'inf' is not a finite number"]),
    ("beyond_float32.csv", {}, ["line 3", "column 't_c'", "'1e39' is too large", "float32"]),
    ("ragged_row.csv", {}, ["line 3", "3 cells where the header row (line 1) has 2"]),
    ("short_row.csv", {}, ["line 2", "1 cell where the first row (line 1) has 2"]),
    ("constant_x.csv", {}, ["column 't_u'", "every value is 5", "must vary"]),
    ("unterminated_quote.csv", {}, ["line 3", "cannot split the line into cells"]),
    ("escape_sequence.csv", {}, ["line 3", "column 't_c'", "is not a number"]),
    ("columns.csv", {"x_column": "celsius"}, ["line 2", "no column named 'celsius' for x", "day, t_u, t_c"]),
    ("columns.csv", {"y_column": 7}, ["line 2", "y column 7 is out of range", "3 columns"]),
    ("columns.csv", {"x_column": "0"}, ["x column 0 is out of range", "numbered from 1"]),
    ("columns.csv", {"x_column": "t_c", "y_column": "3"}, ["x and y are both column 3"]),
    ("no_header.csv", {"x_column": "t_u"}, ["line 1", "no column named 't_u'", "no header row", "by position"]),
]


def refused(path, **columns) -> str:
    with pytest.raises(DataError) as caught:
        load_csv(path, **columns)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, "a message is one line"
    assert "Traceback" not in message
    return message


@pytest.mark.parametrize("name, columns, words", BAD_FILES, ids=[f"{n}{sorted(c.items()) or ''}" for n, c, _ in BAD_FILES])
def test_each_bad_file_is_refused_with_its_message(name, columns, words):
    message = refused(BAD / name, **columns)
    assert message.startswith(str(BAD / name)), message  # names the file first
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_every_file_in_the_bad_folder_has_a_case():
    assert {p.name for p in BAD.iterdir()} == {name for name, _, _ in BAD_FILES}


def test_a_message_never_carries_terminal_escapes():
    message = refused(BAD / "escape_sequence.csv")
    assert "\x1b" not in message and "\\x1b[31mred" in message


# ---------------------------------------------------------------------- the file system
def test_missing_file(tmp_path):
    assert refused(tmp_path / "nope.csv").endswith("nope.csv: no such file")


def test_a_folder_is_not_a_file(tmp_path):
    assert "is a folder, not a CSV file" in refused(tmp_path)


def test_a_path_through_a_file_is_missing(tmp_path):
    (tmp_path / "plain.csv").write_text("1,2\n3,4\n")
    assert "no such file" in refused(tmp_path / "plain.csv" / "inner.csv")


@pytest.mark.skipif(os.name != "posix", reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "is not a regular file" in refused(fifo)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_for_real(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text("1,2\n3,4\n")
    path.chmod(0)
    try:
        assert "permission denied" in refused(path)
    finally:
        path.chmod(0o644)


def test_permission_denied(tmp_path, monkeypatch):
    # Root (as in CI containers) reads anything, so the refusal itself is simulated too.
    path = tmp_path / "secret.csv"
    path.write_text("1,2\n3,4\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader, "open", denied, raising=False)
    assert refused(path) == f"{path}: permission denied"


def test_a_read_error_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "disk.csv"
    path.write_text("1,2\n3,4\n")

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(loader, "open", broken, raising=False)
    assert refused(path) == f"{path}: cannot read (Input/output error)"


def test_an_absurdly_large_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(loader.MAX_BYTES + 1)  # sparse: costs no disk and is never read
    message = refused(path)
    assert "over the 10 MB limit" in message


def test_too_many_rows_names_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_ROWS", 10)
    path = tmp_path / "long.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)))
    message = refused(path)
    assert "line 12: more than 10 data rows" in message


def test_a_cell_too_long_for_the_csv_module(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("x,y\n1,2\n3,\"" + "9" * 200_000 + "\"\n")
    assert "line 3: cannot split the line into cells" in refused(path)


def test_a_file_name_with_a_newline_stays_one_line(tmp_path):
    path = tmp_path / "two\nlines.csv"
    path.write_text("x,y\n1,a\n")
    assert "two\\nlines.csv" in refused(path)


# ---------------------------------------------------------------------- what people write
def write(tmp_path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize("text", [
    "t_u;t_c\n35,7;0,5\n55,9;14,0\n58,2;15\n",  # semicolons, decimal commas (a European spreadsheet)
    "t_u\tt_c\n35.7\t0.5\n55.9\t14.0\n58.2\t15\n",  # tabs
    "# lab readings\n\n  t_u , t_c \n35.7,0.5\n\n# a comment between rows\n55.9,14.0\n58.2,15\n\n",
    "\ufefft_u,t_c\n35.7,0.5\n55.9,14.0\n58.2,15\n",  # a UTF-8 byte-order mark (Excel)
    "t_u,t_c\r\n35.7,0.5\r\n55.9,14.0\r\n58.2,15\r\n",  # Windows line ends
    "\"t_u\",\"t_c\"\n\"35.7\",\"0.5\"\n55.9,14.0\n58.2,15\n",  # quoted cells
])
def test_dialects(tmp_path, text):
    d = load_csv(write(tmp_path, "readings.csv", text))
    assert (d.x_label, d.y_label) == ("t_u", "t_c")
    assert d.x.tolist() == [35.7, 55.9, 58.2] and d.y.tolist() == [0.5, 14.0, 15.0]


def test_utf16_with_a_byte_order_mark(tmp_path):
    path = write(tmp_path, "unicode.txt", codecs.BOM_UTF16_LE + "t_u\tt_c\n1\t2\n3\t4\n".encode("utf-16-le"))
    d = load_csv(path)
    assert d.x_label == "t_u" and d.y.tolist() == [2.0, 4.0]


def test_no_header_row(tmp_path):
    d = load_csv(BAD / "no_header.csv")
    assert (d.x_label, d.y_label) == ("x", "y") and len(d) == 3


def test_columns_by_name_and_by_position(tmp_path):
    by_name = load_csv(BAD / "columns.csv", x_column="t_c", y_column="day")
    by_text_position = load_csv(BAD / "columns.csv", x_column="3", y_column="1")
    by_int_position = load_csv(BAD / "columns.csv", x_column=3, y_column=1)
    for d in (by_name, by_text_position, by_int_position):
        assert (d.x_label, d.y_label) == ("t_c", "day")
        assert d.x.tolist() == [0.5, 14.0, 15.0] and d.y.tolist() == [1.0, 2.0, 3.0]
    default = load_csv(BAD / "columns.csv")  # the first two
    assert (default.x_label, default.y_label) == ("day", "t_u")
    assert default.description == "a good file: the cases below choose columns it does not have"


def test_a_text_column_that_is_not_chosen_is_fine(tmp_path):
    d = load_csv(write(tmp_path, "cities.csv", "city,t_u,t_c\nOslo,35.7,0.5\nRome,55.9,14\n"), "t_u", "t_c")
    assert d.x.tolist() == [35.7, 55.9]


def test_a_constant_target_is_accepted(tmp_path):
    # Decided: a flat y is a well-posed (dull) fit, w -> 0 and b -> the constant; a flat x is not.
    d = load_csv(write(tmp_path, "flat.csv", "x,y\n1,3\n2,3\n3,3\n"))
    assert d.y.tolist() == [3.0, 3.0, 3.0]
    snap = Trainer(Setup(dataset=str(tmp_path / "flat.csv")), Hyperparameters(learning_rate=0.1)).train(500)
    assert snap.train_loss < 1e-6


def test_file_references():
    assert not is_file_reference("thermometer")
    assert is_file_reference("readings.csv") and is_file_reference("./readings") and is_file_reference("csv:readings")
    assert file_reference("readings") == "csv:readings" and file_reference("a/b.csv") == "a/b.csv"


# ---------------------------------------------------------------------- the built-in datasets
def test_every_builtin_loads_small_and_says_what_it_teaches():
    assert {"thermometer", "noisy_line", "curve", "overfit", "outlier"} <= set(builtin_names())
    for name in builtin_names():
        d = load_builtin(name)
        assert 8 <= len(d) <= 40, name
        assert "Teaches" in d.description, name
        first = (loader.BUILTIN_DIR / f"{name}.csv").read_text().splitlines()[0]
        assert first.startswith("# "), name


def test_the_generator_writes_exactly_the_shipped_files(tmp_path):
    from data import generate_datasets

    generate_datasets.main([str(tmp_path)])
    for name in generate_datasets.DATASETS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (loader.BUILTIN_DIR / f"{name}.csv").read_bytes(), name


def suggested(name: str) -> str:
    """The `kepler --setup '...'` a dataset's second comment line suggests."""
    text = (loader.BUILTIN_DIR / f"{name}.csv").read_text()
    return re.search(r"--setup '([^']+)'", text).group(1)


def test_the_overfitting_dataset_overfits_as_its_comment_says():
    setup, hyper = parse_setup_string(suggested("overfit"))
    assert setup.model.startswith("poly:") and setup.val_fraction > 0
    trainer = Trainer(setup, hyper)
    snap = trainer.train(hyper.epochs)
    assert snap.overfitting_since is not None
    history = snap.history
    best = int(np.nanargmin(history.val_loss))
    assert history.val_loss[-1] > 10 * history.val_loss[best]  # the validation loss climbs
    assert history.train_loss[-1] < history.train_loss[best]  # while training keeps falling
    line = Trainer(Setup(dataset="overfit", input_transform="standardize", val_fraction=setup.val_fraction),
                   Hyperparameters(learning_rate=0.1)).train(2000)
    assert line.train_loss > 20 * snap.train_loss  # a line cannot memorise the points


@pytest.mark.parametrize("name", ["noisy_line", "outlier", "curve"])
def test_each_suggested_setup_reaches_the_best_line_the_comment_states(name):
    setup, hyper = parse_setup_string(suggested(name))
    d = load_builtin(name)
    w, b = np.polyfit(d.x, d.y, 1)
    best = float(np.mean((w * d.x + b - d.y) ** 2))
    snap = Trainer(setup, hyper).train(hyper.epochs)
    assert snap.train_loss == pytest.approx(best, rel=1e-3)
    assert f"{best:.2f}" in d.description or f"w = {w:.2f}, b = {b:.2f}" in d.description


# ---------------------------------------------------------------------- a user's file in the trainer
def test_a_setup_can_name_a_users_file(tmp_path):
    path = write(tmp_path, "lab.csv", "day,t_u,t_c\n1,35.7,0.5\n2,55.9,14.0\n3,58.2,15.0\n4,81.9,28.0\n")
    for dataset in (str(path), "csv:" + str(path)):
        trainer = Trainer(Setup(dataset=dataset, x_column="t_u", y_column=3, input_transform="scale"))
        assert trainer.dataset.x.tolist() == [35.7, 55.9, 58.2, 81.9]
        assert trainer.dataset.name == dataset and trainer.dataset.title == "lab.csv"
        assert hash(trainer.setup) == hash(Setup(dataset=dataset, x_column="t_u", y_column=3, input_transform="scale"))
        assert trainer.step().epoch == 1


def test_columns_are_refused_for_a_builtin():
    with pytest.raises(SettingError, match="columns can only be chosen in a CSV file"):
        Trainer(Setup(x_column="t_u"))


@pytest.mark.parametrize("bad", [
    dict(dataset=str(BAD / "nan_value.csv")),
    dict(dataset=str(BAD / "columns.csv"), x_column="celsius"),
    dict(dataset="nope"),
    dict(dataset="thermometer", val_fraction=0.95),
    dict(dataset="thermometer", train_indices=(0, 1), val_indices=(99,)),
    dict(model="cubic"),
])
def test_a_bad_setup_leaves_the_running_run_untouched(bad):
    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2))
    trainer.train(25)
    before = trainer.snapshot()
    dataset, split, model, optimizer = trainer.dataset, trainer.split, trainer.model, trainer.optimizer
    with pytest.raises(SettingError) as caught:
        trainer.reset(Setup(**bad))
    assert "\n" not in str(caught.value)
    assert trainer.dataset is dataset and trainer.split is split and trainer.model is model
    assert trainer.optimizer is optimizer and trainer.setup == before.setup
    assert trainer.epoch == 25 and trainer.history.total_epochs == 25
    assert float(trainer.snapshot().params["w"]) == float(before.params["w"])
    assert trainer.step().epoch == 26  # and it carries on


def test_a_bad_file_message_reaches_the_trainer_whole():
    with pytest.raises(SettingError) as caught:
        Trainer(Setup(dataset=str(BAD / "ragged_row.csv")))
    assert str(caught.value).startswith(str(BAD / "ragged_row.csv") + ", line 3:")


def test_edited_points_replace_the_dataset_and_are_checked():
    trainer = Trainer(Setup(input_transform="scale"))
    d = trainer.dataset
    edited = d.with_points(np.append(d.x, 70.0), np.append(d.y, 60.0))  # one outlier, added
    trainer.reset(dataset=edited)
    assert len(trainer.dataset) == 12 and trainer.dataset.name == "thermometer"
    with pytest.raises(DataError, match="point 12: y = nan"):
        d.with_points(np.append(d.x, 70.0), np.append(d.y, np.nan))
    with pytest.raises(DataError, match="at least 2"):
        d.with_points([1.0], [2.0])
    assert isinstance(edited, Dataset)



def test_the_columns_an_open_file_dialog_offers(tmp_path):
    from data import csv_columns

    assert csv_columns(BAD / "columns.csv") == ["day", "t_u", "t_c"]
    assert csv_columns(BAD / "no_header.csv") == ["1", "2"]  # positions, valid as x_column / y_column
    with pytest.raises(DataError, match="only one column"):
        csv_columns(BAD / "one_column.csv")


# ---------------------------------------------------------------------- from mutation survivors
def test_an_edited_copy_keeps_everything_but_the_points():
    thermometer = load_builtin("thermometer")
    edited = thermometer.with_points([1.0, 2.0, 4.0], [3.0, 5.0, 9.0])
    assert (edited.name, edited.x_label, edited.y_label, edited.description, edited.source) == (
        "thermometer", "t_u", "t_c", thermometer.description, thermometer.source)
    assert edited.x.tolist() == [1.0, 2.0, 4.0] and edited.y.tolist() == [3.0, 5.0, 9.0]
    with pytest.raises(DataError) as refused_edit:
        thermometer.with_points([1.0, 1.0], [2.0, 3.0])
    assert str(refused_edit.value) == "thermometer, column 'x': every value is 1; the input column must vary to fit anything"


def test_a_builtin_is_named_by_its_name_and_an_unknown_one_lists_them_all():
    assert [load_builtin(name).name for name in builtin_names()] == builtin_names()
    with pytest.raises(DataError) as unknown:
        load_builtin("nope")
    assert str(unknown.value) == f"unknown dataset 'nope': built-in datasets are {', '.join(builtin_names())}"


@pytest.mark.parametrize("dataset, is_file", [
    ("thermometer", False), ("csv:lab", True), ("lab/points", True), ("points.CSV", True),
    ("points.tsv", True), ("points.txt", True), ("points", False),
])
def test_what_names_a_file_and_what_a_builtin(dataset, is_file):
    assert is_file_reference(dataset) is is_file
