import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.engine import Loss, backward, from_torch, init_params
from tests.api.helpers import lstm_weights, with_readout

INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0], [-2.0, 0.5], [0.0, 0.3]]


@pytest.mark.parametrize("cell", ["lstm", "rnn_tanh", "gru"])
def test_unit_loss_flow_equals_the_engines_backward(client: TestClient, cell: str) -> None:
    model = {"cell": cell, "input_size": 2, "hidden_size": 3, "num_layers": 2, "seed": 4}
    loss = {"kind": "unit", "step": 3, "layer": 1, "unit": 2}
    res = client.post("/api/v1/gradients", json={"model": model, "inputs": INPUTS, "loss": loss})
    assert res.status_code == 200, res.text
    body = res.json()
    params = init_params(cell, 2, 3, 2, seed=4)
    grads = backward(cell, params, np.asarray(INPUTS), Loss("unit", step=3, layer=1, unit=2))
    assert body["loss"] == pytest.approx(grads.loss, abs=1e-15)
    assert body["steps"] == 5 and len(body["layers"]) == 2
    for k in range(2):
        np.testing.assert_allclose(body["layers"][k]["dh_norm"], grads.flow.dh_norm[k], atol=1e-15)
        np.testing.assert_allclose(body["layers"][k]["dh"], grads.flow.dh[k], atol=1e-15)
        if cell == "lstm":
            assert grads.flow.dc is not None and grads.flow.dc_norm is not None
            np.testing.assert_allclose(body["layers"][k]["dc"], grads.flow.dc[k], atol=1e-15)
            np.testing.assert_allclose(
                body["layers"][k]["dc_norm"], grads.flow.dc_norm[k], atol=1e-15
            )
        else:
            assert body["layers"][k]["dc"] is None and body["layers"][k]["dc_norm"] is None
    np.testing.assert_allclose(body["dx_norm"], grads.flow.dx_norm, atol=1e-15)
    # nothing flows back from step 3 to step 4
    assert body["layers"][1]["dh_norm"][4] == 0.0
    assert body["param_norms"]["weight_hh_l0"] == pytest.approx(
        float(np.linalg.norm(grads.params["weight_hh_l0"]))
    )


def test_unit_loss_defaults_to_the_last_step_of_the_top_layer(client: TestClient) -> None:
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "num_layers": 2}
    body = {"model": model, "inputs": INPUTS, "loss": {"kind": "unit"}}
    got = client.post("/api/v1/gradients", json=body).json()
    trace = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS}).json()
    assert got["loss"] == pytest.approx(trace["layers"][1]["h"][-1][0], abs=1e-15)


def test_cross_entropy_on_the_readout_skips_null_targets(client: TestClient) -> None:
    tensors = with_readout(lstm_weights(2, 3, seed=3), vocab_size=4)
    model = {"cell": "lstm", "weights": {k: v.tolist() for k, v in tensors.items()}}
    targets = [1, None, 3, 0, None]
    body = {"model": model, "inputs": INPUTS, "loss": {"kind": "xent", "targets": targets}}
    res = client.post("/api/v1/gradients", json=body)
    assert res.status_code == 200, res.text
    params, readout = from_torch("lstm", {k: v.astype(np.float64) for k, v in tensors.items()})
    y = np.array([1, -100, 3, 0, -100])
    expected = backward("lstm", params, np.asarray(INPUTS), Loss("xent", targets=y),
                        readout=readout)  # fmt: skip
    assert res.json()["loss"] == pytest.approx(expected.loss, abs=1e-12)
    np.testing.assert_allclose(res.json()["dx_norm"], expected.flow.dx_norm, atol=1e-12)
    # the readout's weights are weights too: they were missing from param_norms
    assert expected.readout is not None
    norms = res.json()["param_norms"]
    assert norms["readout.weight"] == pytest.approx(np.linalg.norm(expected.readout.weight))
    assert norms["readout.bias"] == pytest.approx(np.linalg.norm(expected.readout.bias))
    assert norms["readout.bias"] > 0


@pytest.mark.parametrize(
    ("loss", "says", "field"),
    [
        ({"kind": "xent", "targets": [0, 1, 0, 1, 0]}, "needs a readout", "loss.kind"),
        ({"kind": "mse_h", "targets": [[0.0, 0.0, 0.0]]}, "has shape (1, 3)", "loss.targets"),
        ({"kind": "unit", "unit": 3}, "loss.unit is 3", "loss.unit"),
        ({"kind": "unit", "step": 5}, "loss.step is 5", "loss.step"),
        ({"kind": "unit", "layer": -1}, "loss.layer", "loss.layer"),
        ({"kind": "mse"}, "loss", "loss"),
        # ragged rows and indices past any int64 were 500s
        (
            {"kind": "mse_h", "targets": [[0.0] * 3, [0.0] * 2, *[[0.0] * 3] * 3]},
            "loss.targets[1] has 2 numbers, expected 3",
            "loss.targets[1]",
        ),
        ({"kind": "unit", "unit": 2**70}, "loss.unit", "loss.unit"),
        (
            {"kind": "xent", "targets": [0, 2**63, 0, 0, 0]},
            "loss.targets[1]: Input should be less than or equal to 2147483647",
            "loss.targets[1]",
        ),
    ],
)
def test_bad_loss_is_422_naming_it(client: TestClient, loss: dict, says: str, field: str) -> None:
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 3}
    res = client.post("/api/v1/gradients", json={"model": model, "inputs": INPUTS, "loss": loss})
    assert res.status_code == 422, res.text
    assert says in res.json()["message"]
    # the field is also machine-readable, the engine's refusals included (their details were [])
    assert res.json()["details"][0]["field"] == field


def test_gradients_of_text_list_the_tokens(client: TestClient) -> None:
    model = {"cell": "rnn_tanh", "input_size": 3, "hidden_size": 2, "vocab": ["x", "y", "z"]}
    body = {"model": model, "text": "xyzzy", "loss": {"kind": "unit"}}
    res = client.post("/api/v1/gradients", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["tokens"] == list("xyzzy")


def test_exploding_gradient_norms_are_numbers_not_nulls(client: TestClient) -> None:
    # |dh| reaches 1e228: its square overflowed and orjson wrote the norms as null in a 200
    weights = {
        "weight_ih_l0": [[1e12]],
        "weight_hh_l0": [[1e12]],
        "bias_ih_l0": [0.0],
        "bias_hh_l0": [0.0],
    }
    body = {
        "model": {"cell": "rnn_relu", "weights": weights},
        "inputs": [[1e12]] * 20,
        "loss": {"kind": "unit"},
    }
    res = client.post("/api/v1/gradients", json=body)
    assert res.status_code == 200, res.text
    got = res.json()
    dh, dh_norm = got["layers"][0]["dh"], got["layers"][0]["dh_norm"]
    assert dh_norm[0] == pytest.approx(1e228, rel=1e-12)
    assert dh_norm == pytest.approx([abs(row[0]) for row in dh], rel=1e-12)
    assert None not in got["dx_norm"] and None not in got["param_norms"].values()
