import argparse
import json

import numpy as np
import pytest

from app.engine import run_trace
from app.engine.tasks import CharLM
from app.training.builtin import load_builtin_models
from app.training.cli import add_train_parser, config_from_args, train_main
from app.training.config import TrainConfig
from app.training.loop import _Stepper, init_model, train
from app.training.metrics import evaluate


def parse(argv):
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", *argv])


def test_recorded_arguments_parse_back_to_the_same_config():
    config = TrainConfig(
        "delayed-recall", "gru", hidden=12, steps=7, seed=3, lr=0.02, curriculum=5, max_gap=9
    )
    args = parse([*config.arguments(), "--out=x"])
    assert config_from_args(args) == config
    assert args.func.__name__ == "run_train"
    assert "--lr=0.02" in config.command("x", "m") and "--id=m" in config.command("x", "m")


def test_config_refuses_unknown_names_and_bad_sizes():
    with pytest.raises(ValueError, match="task 'copy' is unknown"):
        TrainConfig("copy", "lstm", 4, 1)
    with pytest.raises(ValueError, match="hidden is 0"):
        TrainConfig("sine", "lstm", 0, 1)
    with pytest.raises(ValueError, match="lr is -1"):
        TrainConfig("sine", "lstm", 4, 1, lr=-1)


def test_forget_bias_is_added_to_the_forget_rows_only():
    from app.engine import init_params
    from app.training.loop import build_task

    config = TrainConfig("sine", "lstm", hidden=3, steps=1, forget_bias=2.0, seed=5)
    model = init_model(config, build_task(config))
    plain = init_params("lstm", 1, 3, 1, 5)
    diff = model.params["bias_ih_l0"] - plain["bias_ih_l0"]
    np.testing.assert_allclose(diff, [0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(model.params["bias_hh_l0"], plain["bias_hh_l0"])
    assert model.readout.weight.shape == (1, 3)


def test_same_seed_same_weights_other_seed_other_weights():
    def weights(seed):
        config = TrainConfig("bracket-depth", "gru", hidden=4, steps=3, seed=seed, length=12)
        return train(config).model.tensors()

    a, b, c = weights(1), weights(1), weights(2)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["weight_hh_l0"], c["weight_hh_l0"])


def test_training_lowers_the_loss_on_sine():
    config = TrainConfig("sine", "lstm", hidden=8, steps=80, lr=0.02, length=30, batch=16)
    result = train(config, evaluate=lambda t, m: evaluate(t, m, quick=True))
    loss = np.array(result.curve.loss)
    assert loss[-10:].mean() < 0.5 * loss[:10].mean()
    assert [e["step"] for e in result.curve.evals][-1] == 80
    assert len(result.curve.grad_norm) == 80


def test_truncated_bptt_carries_the_state_and_zeroes_readers_that_jump():
    text = "".join(chr(97 + (i * 5) % 26) for i in range(3000))
    task = CharLM(text, length=10)
    config = TrainConfig("char-lm", "lstm", hidden=3, steps=1, batch=2)
    stepper = _Stepper(config, task, np.random.default_rng(0))
    first = stepper.batch(0)
    assert stepper.h0 is None
    model = init_model(config, task)
    tr = run_trace("lstm", model.params, first.x)
    stepper.keep_state(tr.h_n, tr.c_n)
    np.testing.assert_array_equal(stepper.h0, tr.h_n)
    assert stepper.streams is not None
    stepper.streams.pos[1] = 10**9  # reader 1 runs off the end: it must restart from zero
    stepper.batch(1)
    np.testing.assert_array_equal(stepper.h0[:, 0], tr.h_n[:, 0])
    np.testing.assert_array_equal(stepper.h0[:, 1], 0.0)
    np.testing.assert_array_equal(stepper.c0[:, 1], 0.0)


def test_train_main_writes_a_model_the_builtin_loader_reads(tmp_path):
    status = train_main(
        ["--task=bracket-depth", "--cell=lstm", "--hidden=5", "--steps=4", "--length=16",
         f"--out={tmp_path}", "--quiet", "--id=tiny"]
    )  # fmt: skip
    assert status == 0
    meta = json.loads((tmp_path / "tiny.json").read_text())
    curve = json.loads((tmp_path / "tiny.loss.json").read_text())
    assert len(curve["loss"]) == 4 and curve["config"]["hidden"] == 5
    assert (tmp_path / "tiny.loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert meta["labels"] == [str(d) for d in range(9)]
    assert meta["vocab"] == ["(", ")", "x", "y"]
    assert meta["names"] == {"en": "tiny", "zh": "tiny"}  # no recipe: the id in both languages
    assert meta["command"].startswith("gatescope train --task=bracket-depth --cell=lstm")
    assert f"--out={tmp_path}" in meta["command"] and "--id=tiny" in meta["command"]
    [model] = load_builtin_models(tmp_path)  # the loss curve's JSON is not a model
    assert model.id == "tiny" and model.cell == "lstm"
    assert sorted(model.params) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    assert model.readout is not None and model.readout.weight.shape == (9, 5)
    # the stored weights give back the stored metric
    from app.engine.tasks import BracketDepth
    from app.training.model import Model

    again = evaluate(BracketDepth(length=16), Model("lstm", model.params, model.readout))
    assert again["depth_accuracy"] == pytest.approx(meta["metrics"]["depth_accuracy"], abs=1e-6)


def test_train_main_refuses_a_bad_option_with_status_2(tmp_path, capsys):
    status = train_main(
        ["--task=sine", "--cell=lstm", "--hidden=0", "--steps=1", f"--out={tmp_path}"]
    )
    assert status == 2
    assert "hidden is 0" in capsys.readouterr().err


def test_learning_rate_falls_by_half_a_cosine_to_the_floor():
    from app.training.loop import learning_rate

    config = TrainConfig("sine", "lstm", hidden=2, steps=101, lr=0.01, lr_floor=0.1)
    assert learning_rate(config, 0) == pytest.approx(0.01)
    assert learning_rate(config, 50) == pytest.approx(0.0055)
    assert learning_rate(config, 100) == pytest.approx(0.001)
    flat = TrainConfig("sine", "lstm", hidden=2, steps=10, lr=0.01, lr_floor=1.0)
    assert {learning_rate(flat, s) for s in range(10)} == {0.01}
