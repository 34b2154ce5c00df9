"""The setup string a teacher writes on the board: it starts exactly that configuration,
the configuration writes back as the same string, and a mistake names the key."""
from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest

from engine.lesson.presets import PRESETS
from engine.training.setup_string import KEYS, format_setup_string, parse_setup_string
from engine.training.trainer import DEFAULT_SETUP, Hyperparameters, SettingError, Setup, Trainer


def test_the_example_from_the_board():
    setup, hyper = parse_setup_string("lr=0.01,opt=adam,scale=0.1,model=linear,data=thermometer")
    assert setup == Setup(dataset="thermometer", model="linear", input_transform="scale", input_scale=0.1)
    assert hyper == Hyperparameters(optimizer="adam", learning_rate=0.01)
    assert format_setup_string(setup, hyper) == "lr=0.01,opt=adam,scale=0.1,model=linear,data=thermometer"


@pytest.mark.parametrize("text", [
    "lr=0.01,opt=adam,scale=0.1,model=linear,data=thermometer",
    "lr=0.0001,opt=sgd,scale=none,model=linear,data=thermometer,epochs=100",
    "lr=0.05,opt=adam,scale=std,model=poly:7,data=overfit,val=0.3,epochs=3000",
    "lr=0.001,opt=sgd,momentum=0.9,nesterov=on,wd=0.01,scale=std,model=mlp:24,data=curve,seed=3,early_stop=on",
    "lr=0.01,opt=sgd,scale=0.1,model=linear,data=thermometer,split=9:6:5:8:4:7:0:1:3/2:10",
    "lr=0.1,opt=adam,beta1=0.8,beta2=0.99,scale=none,model=linear,data=outlier,split_seed=1,init_seed=2",
    "lr=1e-5,opt=sgd,scale=none,model=linear,data=noisy_line,patience=50,zero_grad=off,dtype=float64",
    'lr=0.01,opt=sgd,scale=std,model=linear,data="/data/lab, 2024.csv",x=t_u,y=3',
])
def test_a_written_string_reads_back_the_same(text):
    setup, hyper = parse_setup_string(text)
    assert format_setup_string(setup, hyper) == text


@pytest.mark.parametrize("preset", PRESETS, ids=[p.key for p in PRESETS])
def test_every_preset_round_trips(preset):
    text = format_setup_string(preset.setup, preset.hyper)
    assert parse_setup_string(text) == (preset.setup, preset.hyper)


def test_many_configurations_round_trip():
    rng = random.Random(5)
    choices = {
        "learning_rate": [1e-4, 0.01, 0.1, 0.3, 1 / 3, 2.5e-7], "optimizer": ["sgd", "adam"],
        "momentum": [0.0, 0.5, 0.99], "weight_decay": [0.0, 1e-3], "epochs": [1, 100, 5000, 123456],
        "early_stopping": [False, True], "zero_grad": [True, False], "beta1": [0.9, 0.5], "overfit_patience": [100, 7],
    }
    setups = {
        "dataset": ["thermometer", "curve", "csv:notes", "/tmp/a b/c.csv"], "model": ["linear", "poly:3", "mlp:16"],
        "val_fraction": [0.0, 0.2, 0.35], "split_seed": [0, 4], "init_seed": [0, 4, 9], "dtype": ["float32", "float64"],
    }
    transforms = [dict(input_transform="none"), dict(input_transform="standardize"),
                  dict(input_transform="scale", input_scale=0.1), dict(input_transform="scale", input_scale=0.037)]
    for _ in range(300):
        hyper = Hyperparameters(**{k: rng.choice(v) for k, v in choices.items()})
        if hyper.momentum and rng.random() < 0.5:
            hyper = Hyperparameters(**{**hyper.__dict__, "nesterov": True})
        setup = Setup(**{k: rng.choice(v) for k, v in setups.items()}, **rng.choice(transforms))
        if setup.dataset.startswith(("csv:", "/")) and rng.random() < 0.5:
            setup = Setup(**{**setup.__dict__, "x_column": rng.choice(["t_u", 2]), "y_column": "t c"})
        text = format_setup_string(setup, hyper)
        assert parse_setup_string(text) == (setup, hyper), text


def test_keys_left_out_are_the_defaults_kepler_starts_from():
    # The same defaults as `kepler` and `kepler train` (issue 9, defect 10): the input 0.1 * raw.
    assert parse_setup_string("") == (DEFAULT_SETUP, Hyperparameters())
    assert DEFAULT_SETUP.input_transform == "scale" and DEFAULT_SETUP.input_scale == 0.1
    assert parse_setup_string("  lr = 0.5 ,, OPT=Adam , model=MLP:8,") == (
        replace(DEFAULT_SETUP, model="mlp:8"), Hyperparameters(learning_rate=0.5, optimizer="adam"))
    assert parse_setup_string("scale=none")[0] == Setup()  # the book's raw readings, one key away


@pytest.mark.parametrize("text, words", [
    ("seed=-1", "split seed must be a whole number in 0.."),
    ("init_seed=-5,model=mlp:4", "initial-weights seed must be a whole number in 0.."),
    ("split=99999999999999999999:1/2", "training index 99999999999999999999 is not a point number"),
])
def test_negative_seeds_and_huge_indices_are_refused_in_one_line(text, words):
    with pytest.raises(SettingError, match=words) as caught:
        parse_setup_string(text)
    assert "\n" not in str(caught.value)


def test_seed_sets_every_seed_and_the_specific_seeds_win_in_any_order():
    assert parse_setup_string("seed=3")[0] == replace(DEFAULT_SETUP, split_seed=3, init_seed=3, batch_seed=3)
    for text in ("seed=3,init_seed=1", "init_seed=1,seed=3"):
        assert parse_setup_string(text)[0] == replace(DEFAULT_SETUP, split_seed=3, init_seed=1, batch_seed=3)
    for text in ("seed=3,batch_seed=7", "batch_seed=7,seed=3"):
        assert parse_setup_string(text)[0] == replace(DEFAULT_SETUP, split_seed=3, init_seed=3, batch_seed=7)


@pytest.mark.parametrize("setup, hyper, text", [
    (DEFAULT_SETUP, Hyperparameters(batch_size=4), "batch=4"),
    (replace(DEFAULT_SETUP, batch_seed=5), Hyperparameters(batch_size=1), "batch_seed=5,batch=1"),
    (replace(DEFAULT_SETUP, split_seed=2, init_seed=2), Hyperparameters(), "split_seed=2,init_seed=2"),
    (replace(DEFAULT_SETUP, split_seed=2, init_seed=2, batch_seed=2), Hyperparameters(batch_size=16), "seed=2,batch=16"),
])
def test_the_batch_size_and_its_seed_are_written_and_read_back(setup, hyper, text):
    written = format_setup_string(setup, hyper)
    assert text in written and parse_setup_string(written) == (setup, hyper)


@pytest.mark.parametrize("text, words", [
    ("batch=0", ["batch=0", "batch size must be a whole number in 1.."]),
    ("batch=four", ["batch='four' is not a whole number of points or full"]),
    ("batch=2.5", ["batch='2.5' is not a whole number"]),
    ("batch_seed=-1", ["batch seed must be a whole number in 0.."]),
])
def test_a_bad_batch_is_named(text, words):
    with pytest.raises(SettingError) as caught:
        parse_setup_string(text)
    assert all(word in str(caught.value) for word in words), str(caught.value)


def test_batch_full_is_the_default():
    assert parse_setup_string("batch=full")[1] == Hyperparameters()
    assert "batch" not in format_setup_string(DEFAULT_SETUP, Hyperparameters())


def test_a_string_starts_a_trainer_with_exactly_that_configuration():
    setup, hyper = parse_setup_string("lr=0.01,opt=sgd,scale=0.1,model=linear,data=thermometer,epochs=5000")
    snap = Trainer(setup, hyper).train(5000)
    assert snap.train_loss == pytest.approx(2.927648, rel=1e-5)  # the book's final loss


@pytest.mark.parametrize("text, words", [
    ("lrate=0.1", ["unknown key 'lrate'", "keys are lr, opt"]),
    ("lr=fast", ["lr='fast' is not a number"]),
    ("lr=-1", ["lr=-1", "learning rate must be a positive number"]),
    ("lr=inf", ["lr='inf' is not a finite number"]),
    ("opt=rmsprop", ["opt='rmsprop' is not one of sgd, adam"]),
    ("scale=big", ["scale='big' is not a number, std or none"]),
    ("scale=0", ["scale=0", "input scale must be a positive number"]),
    ("model=cubic", ["model 'cubic' is not one of linear, poly:K", "mlp:H"]),
    ("data=nope", ["data='nope' is not a built-in dataset (curve, ", "or a CSV file"]),
    ("momentum=1.5", ["momentum=1.5", "momentum must be in [0, 1)"]),
    ("nesterov=maybe", ["nesterov='maybe' is not one of on, off"]),
    ("nesterov=on", ["nesterov needs a momentum above 0"]),
    ("val=1", ["val=1", "validation fraction must be in [0, 1)"]),
    ("epochs=ten", ["epochs='ten' is not a whole number"]),
    ("split=1:2", ["split='1:2' is not TRAIN/VAL point indices"]),
    ("x=t_u", ["columns can only be chosen in a CSV file"]),
    ("dtype=float16", ["dtype='float16' is not one of float32, float64"]),
    ("lr=0.1,lr=0.2", ["lr is given twice"]),
    ("adam", ["'adam' is not key=value", "keys are"]),
])
def test_a_mistake_names_the_key_and_what_is_allowed(text, words):
    with pytest.raises(SettingError) as caught:
        parse_setup_string(text)
    message = str(caught.value)
    assert message.startswith("setup string: ") and "\n" not in message
    for word in words:
        assert word in message, message


def test_every_key_is_documented_and_parsed():
    import engine.training.setup_string as module

    samples = {"lr": "0.1", "opt": "adam", "momentum": "0.5", "nesterov": "off", "wd": "0.1", "beta1": "0.8",
               "beta2": "0.9", "scale": "std", "model": "poly:2", "data": "curve", "x": "1", "y": "2",
               "val": "0.2", "split": "0:1:2/3", "seed": "1", "split_seed": "2", "init_seed": "3", "epochs": "10",
               "batch": "4", "batch_seed": "6",
               "early_stop": "on", "patience": "5", "zero_grad": "off", "dtype": "float64"}
    assert set(samples) == set(KEYS)
    for key, value in samples.items():
        assert f"\n    {key} " in module.__doc__, key
        text = f"{key}={value}" + (",data=csv:f.csv" if key in ("x", "y") else "")
        parse_setup_string(text)


def test_a_path_with_a_double_quote_cannot_be_written():
    with pytest.raises(SettingError, match="cannot hold a double quote"):
        format_setup_string(Setup(dataset='say "hi".csv'), Hyperparameters())


def test_pairs_of_keys_commute():
    base = ["lr=0.05", "opt=adam", "scale=std", "model=poly:3", "data=curve", "val=0.2", "epochs=50"]
    expected = parse_setup_string(",".join(base))
    for order in itertools.islice(itertools.permutations(base), 0, 40):
        assert parse_setup_string(",".join(order)) == expected
