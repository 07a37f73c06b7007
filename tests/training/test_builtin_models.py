"""The shipped models do what their metadata says, on data they have never seen."""

import json
import shlex

import numpy as np
import pytest

from app.engine.tasks import BracketDepth, CharLM, DelayedRecall, Sine
from app.engine.tasks.char_lm import FEATURES
from app.training.builtin import BUILTIN_DIR
from app.training.config import CORPUS
from app.training.metrics import (
    depth_accuracy,
    evaluate,
    held_out_bits,
    recall_accuracy,
    sine_errors,
    trace,
)
from app.training.recipes import RECIPES
from app.training.units import KIND_LABELS, class_separation, correlation
from tests.training.conftest import as_model, listed_unit

FRESH = 777  # a seed no shipped metric or unit was measured with
REQUIRED = {"id", "name", "cell", "input_size", "hidden_size", "num_layers", "task", "vocab",
            "labels", "readout", "description", "units", "metrics", "command", "seed"}  # fmt: skip


def test_every_recipe_is_shipped_with_its_metadata(builtin):
    assert sorted(builtin) == sorted(RECIPES)
    for model_id, item in builtin.items():
        meta = item.meta
        assert set(meta) >= REQUIRED, model_id
        assert meta["id"] == model_id and meta["cell"] == RECIPES[model_id].config.cell
        assert set(meta["description"]) == {"en", "zh"}
        assert meta["names"] == RECIPES[model_id].name and meta["name"] == meta["names"]["en"]
        for unit in meta["units"]:
            assert 0 <= unit["unit"] < meta["hidden_size"] and set(unit["what"]) == {"en", "zh"}
            assert unit["label"] == KIND_LABELS[unit["kind"]]  # what a retrain writes
        # the recorded command is the recipe's, so `make retrain-models` gives this file back
        assert meta["command"] == RECIPES[model_id].config.command("app/builtin_models", model_id)
        assert meta["config"] == RECIPES[model_id].config.to_dict()
        assert meta["hidden_size"] == item.params["weight_hh_l0"].shape[1]


def test_shipped_models_take_at_most_10_mb():
    total = sum(p.stat().st_size for p in BUILTIN_DIR.iterdir() if p.is_file())
    assert total <= 10 * 1024 * 1024


def test_the_store_accepts_every_shipped_model(builtin):
    from app.store.builtin import to_stored

    for item in builtin.values():
        stored = to_stored(item)
        assert stored.info.source == "builtin" and stored.readout is not None


@pytest.mark.slow
def test_delayed_recall_lstm_remembers_over_40_steps_and_the_rnn_does_not(builtin):
    task = DelayedRecall()
    lstm = recall_accuracy(
        task, as_model(builtin["delayed-recall-lstm"]), np.random.default_rng(FRESH), 40, 1000
    )
    rnn = recall_accuracy(
        task, as_model(builtin["delayed-recall-rnn"]), np.random.default_rng(FRESH), 40, 1000
    )
    assert lstm >= 0.99
    assert rnn <= lstm - 0.30
    # same size, same budget: only the cell differs
    a = RECIPES["delayed-recall-lstm"].config
    b = RECIPES["delayed-recall-rnn"].config
    assert (a.hidden, a.steps, a.batch, a.lr, a.curriculum) == (
        b.hidden,
        b.steps,
        b.batch,
        b.lr,
        b.curriculum,
    )


@pytest.mark.slow
def test_delayed_recall_memory_unit_keeps_its_forget_gate_open_across_the_gap(builtin):
    item = builtin["delayed-recall-lstm"]
    unit = listed_unit(item, "memory")
    assert unit["field"] == "c"
    task = DelayedRecall()
    batch, country, country_step = task.make(np.random.default_rng(FRESH), 500, gap=40)
    fields = trace(as_model(item), batch.x).layers[unit["layer"]]
    at, T = int(country_step[0]), batch.x.shape[0]
    assert np.all(country_step == at)
    u = unit["unit"]
    f_gap = fields["f"][at + 1 : T - 1, :, u]  # (40, B): every step of the gap
    assert f_gap.shape[0] == 40
    assert f_gap.mean(axis=1).min() >= 0.9
    assert np.mean(f_gap >= 0.9) >= 0.99
    i_mean = fields["i"][: T - 1, :, u].mean(axis=1)  # up to the query
    assert int(np.argmax(i_mean)) == at
    # and what it keeps is the country: the country explains most of c just before the query
    c_end = fields["c"][T - 2, :, u][:, None]
    assert class_separation(c_end, country)[0] >= 0.9


@pytest.mark.slow
def test_bracket_depth_is_exact_up_to_depth_8_and_a_unit_counts(builtin):
    item = builtin["bracket-depth-lstm"]
    task = BracketDepth()
    assert task.max_depth == 8
    acc = depth_accuracy(task, as_model(item), np.random.default_rng(FRESH), 500)
    assert acc["depth_accuracy"] >= 0.99
    unit = listed_unit(item, "counter")
    batch, depth = task.make(np.random.default_rng(FRESH + 1), 300)
    values = trace(as_model(item), batch.x).layers[unit["layer"]][unit["field"]][:, :, unit["unit"]]
    r = correlation(depth.ravel().astype(float), values.reshape(-1, 1))[0]
    assert unit["field"] == "c"
    assert abs(r) >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize(
    "model_id", ["sine-lstm", "sine-gru", "sine-lstm-peephole", "sine-lstm-coupled"]
)
def test_sine_models_with_gates_beat_repeating_the_last_value_5_times(builtin, model_id):
    err = sine_errors(Sine(), as_model(builtin[model_id]), np.random.default_rng(FRESH), 500)
    assert err["rmse"] * 5 <= err["repeat_last_rmse"]


@pytest.mark.slow
def test_char_lm_beats_unigram_by_a_bit_and_a_listed_unit_does_what_it_says(builtin):
    from app.engine.tasks import one_hot

    item = builtin["char-lm-lstm"]
    config = RECIPES["char-lm-lstm"].config
    task = CharLM(CORPUS.read_text(encoding="utf-8"), carry=config.carry)
    bits = held_out_bits(task, as_model(item))
    assert bits <= task.unigram_bits() - 1.0
    assert item.meta["metrics"]["held_out_bits_per_char"] == pytest.approx(bits, abs=1e-6)
    # the held-out text in windows read from a zero state, as in training
    ids, pieces = task.windows(task.held_out_text, task.span)
    fields = trace(as_model(item), one_hot(ids, task.input_size)).layers[0]
    checked = []
    for unit in item.meta["units"]:
        label = np.stack([FEATURES[unit["kind"]](p) for p in pieces], axis=1).ravel()
        values = fields[unit["field"]][:, :, unit["unit"]].reshape(-1, 1)
        r = correlation(label, values)[0]
        assert np.sign(r) == np.sign(unit["measured"]["r"]), unit  # the documented direction
        checked.append((unit["kind"], round(abs(r), 3)))
    assert max(r for _, r in checked) >= 0.7, checked


@pytest.mark.slow
def test_retraining_sine_rnn_with_its_recorded_command_gives_its_metrics(builtin, tmp_path):
    from app.training.cli import train_main

    meta = builtin["sine-rnn"].meta
    argv = shlex.split(meta["command"])
    assert argv[:2] == ["gatescope", "train"]
    out = [a for a in argv if a.startswith("--out=")]
    argv = [a for a in argv[2:] if a not in out] + [f"--out={tmp_path}", "--quiet"]
    assert train_main(argv) == 0
    again = json.loads((tmp_path / "sine-rnn.json").read_text())
    assert again["metrics"].keys() == meta["metrics"].keys()
    for name, value in meta["metrics"].items():
        assert again["metrics"][name] == pytest.approx(value, rel=0.01), name
    # and the stored weights give the stored metrics
    task = Sine()
    assert evaluate(task, as_model(builtin["sine-rnn"]))["rmse"] == pytest.approx(
        meta["metrics"]["rmse"], abs=1e-6
    )
