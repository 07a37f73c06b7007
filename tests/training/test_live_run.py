"""LiveRun: the trainer step by step, its weights equal train()'s, its snapshots reproducible."""

from dataclasses import replace
from typing import Any

import numpy as np
import orjson
import pytest

from app.engine import run_trace
from app.training.config import TrainConfig
from app.training.live_run import LiveRun
from app.training.loop import train
from app.training.metrics import EVAL_SEED, recall_accuracy

RECALL = TrainConfig(
    task="delayed-recall", cell="lstm", hidden=8, steps=30, lr=0.02, max_gap=6, seed=3
)


@pytest.mark.parametrize("task", ["delayed-recall", "bracket-depth", "sine"])
def test_after_n_steps_the_weights_are_train_s(task: str) -> None:
    config = replace(RECALL, task=task, steps=12, length=12 if task != "delayed-recall" else 0)
    offline = train(config)
    run = LiveRun(config)
    run.step(5)
    run.step(7)
    assert run.steps_done == 12
    mine = run.trainer.model.tensors()
    for name, value in offline.model.tensors().items():
        np.testing.assert_array_equal(mine[name], value, err_msg=name)


def test_the_schedule_horizon_is_the_total_not_the_steps_taken() -> None:
    run = LiveRun(RECALL)  # horizon 30
    run.step(10)
    short = train(replace(RECALL, steps=10))  # horizon 10: a different schedule
    assert run.horizon == 30
    diff = run.trainer.model.params["weight_hh_l0"] - short.model.params["weight_hh_l0"]
    assert np.abs(diff).max() > 0


def test_snapshot_equals_what_the_trainer_computes_offline() -> None:
    run = LiveRun(RECALL)
    run.step(RECALL.steps)
    snap = run.snapshot()
    offline = train(RECALL)
    assert snap["step"] == 30
    assert snap["loss"] == offline.curve.loss[-1]
    assert snap["grad_norm"] == offline.curve.grad_norm[-1]
    rng = np.random.default_rng(EVAL_SEED)
    accuracy = recall_accuracy(offline.task, offline.model, rng, RECALL.max_gap, 200)  # type: ignore[arg-type]
    assert snap["held_out"]["accuracy"] == accuracy
    probe = snap["probe"]
    words = probe["tokens"]
    assert words[:5] == ["I", "grew", "up", "in", "France"] and words[-1] == "speak"
    assert len(words) == 5 + RECALL.max_gap + 1
    x = offline.task.encode(words)  # type: ignore[attr-defined]
    tr = run_trace("lstm", offline.model.params, x)
    for name in ("i", "f", "g", "o", "c", "h"):
        want = tr.layers[0][name].astype(np.float32)
        np.testing.assert_array_equal(probe["trace"][name], want)
    gates = np.concatenate([tr.layers[0][g].ravel() for g in "ifo"])
    assert probe["gate_saturation"] == pytest.approx(np.mean((gates < 0.1) | (gates > 0.9)))
    assert len(probe["dh_norm"]) == len(words) and len(probe["dc_norm"]) == len(words)
    # only the query is scored, so the gradient reaches c_t from the end backwards
    assert probe["dh_norm"][-1] > 0 and probe["dc_norm"][0] > 0


def as_json(snap: dict[str, Any]) -> Any:
    """The snapshot as the training process sends it, parsed back."""
    return orjson.loads(orjson.dumps(snap, option=orjson.OPT_SERIALIZE_NUMPY))


def test_snapshot_json_carries_each_value_as_its_float32() -> None:
    run = LiveRun(RECALL)
    run.step(3)
    snap = run.snapshot()
    wire = as_json(snap)
    f = snap["probe"]["trace"]["f"]
    assert f.dtype == np.float32
    # the text is the shortest that reads back as the same float32, so nothing is lost...
    np.testing.assert_array_equal(np.asarray(wire["probe"]["trace"]["f"], np.float32), f)
    # ...and it is shorter than float64's
    as64 = orjson.dumps(f.astype(np.float64), option=orjson.OPT_SERIALIZE_NUMPY)
    assert len(orjson.dumps(f, option=orjson.OPT_SERIALIZE_NUMPY)) < 0.7 * len(as64)
    assert wire["loss"] == snap["loss"]  # scalars keep float64: the page shows loss digits


def test_two_runs_of_one_config_give_identical_snapshots() -> None:
    a, b = LiveRun(RECALL), LiveRun(RECALL)
    for _ in range(3):
        a.step(4)
        b.step(4)
        assert as_json(a.snapshot()) == as_json(b.snapshot())


def test_rnn_has_no_gates_to_saturate_and_sine_no_accuracy() -> None:
    run = LiveRun(replace(RECALL, cell="rnn_tanh"))
    run.step(1)
    assert run.snapshot()["probe"]["gate_saturation"] is None
    sine = LiveRun(replace(RECALL, task="sine", length=20))
    sine.step(1)
    snap = sine.snapshot()
    assert snap["train_accuracy"] is None and snap["held_out"]["rmse"] > 0
    assert snap["probe"]["tokens"] is None
