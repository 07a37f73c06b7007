"""Real Keras 3 models (torch backend), saved as Keras users save them (model.save("m.keras"),
model.save_weights("m.weights.h5")), uploaded and traced: every step's h and the readout equal
Keras's own output within 1e-5 (float32 source), both directions of a Bidirectional layer."""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.torch
VOCAB = ["a", "b", "c", " ", "."]
TEXT = "abc. cab a.b"
X = np.random.default_rng(1).normal(size=(1, 7, 3)).astype(np.float32)


def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        skip_or_fail("keras is not installed (pip install '.[keras]')")
    return keras


def _build(keras: Any, case: str) -> tuple[Any, str]:
    L = keras.layers
    keras.utils.set_random_seed(0)
    rnn = {"lstm": L.LSTM, "gru": L.GRU, "rnn_tanh": L.SimpleRNN}
    if case == "bidir_embedding":
        bidir = L.Bidirectional(L.LSTM(3, return_sequences=True))
        layers = [keras.Input((None,), dtype="int32"), L.Embedding(len(VOCAB), 4), bidir,
                  L.Dense(len(VOCAB))]  # fmt: skip
        return keras.Sequential(layers), "lstm"
    if case == "bidir_stacked_gru":
        layers = [
            keras.Input((None, 3)),
            L.Bidirectional(L.GRU(4, return_sequences=True)),
            L.Dropout(0.2),
            L.Bidirectional(L.GRU(4, return_sequences=True)),
            L.Dense(2),
        ]
        return keras.Sequential(layers), "gru"
    cell = case.removeprefix("stacked_")
    stack = [rnn[cell](4, return_sequences=True) for _ in range(2 if "stacked" in case else 1)]
    return keras.Sequential([keras.Input((None, 3)), *stack, L.Dense(2)]), cell


CASES = ["lstm", "gru", "rnn_tanh", "stacked_lstm", "bidir_embedding", "bidir_stacked_gru"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each case built once: its files, cell, and Keras's per-layer outputs and readout."""
    keras = _keras()
    out = {}
    for case in CASES:
        model, cell = _build(keras, case)
        folder = tmp_path_factory.mktemp(case)
        model.save(str(folder / "m.keras"))
        model.save_weights(str(folder / "m.weights.h5"))
        model.save(str(folder / "m.h5"))  # the Keras 2 style full model (legacy HDF5)
        x = np.array([[VOCAB.index(c) for c in TEXT]]) if "embedding" in case else X
        outputs = []
        y = keras.ops.convert_to_tensor(x)
        for layer in model.layers:
            y = layer(y)
            outputs.append((layer.__class__.__name__, keras.ops.convert_to_numpy(y)[0]))
        out[case] = {"folder": folder, "cell": cell, "x": x, "outputs": outputs}
    return out


def _upload(client: TestClient, path: Path, cell: str, vocab: bool) -> Any:
    data = {"cell": cell, "name": path.name}
    if vocab:
        data["vocab"] = json.dumps(VOCAB)
    return client.post("/api/v1/models", data=data, files={"file": (path.name, path.read_bytes())})


@pytest.mark.parametrize("filename", ["m.keras", "m.weights.h5", "m.h5"])
@pytest.mark.parametrize("case", CASES)
def test_keras3_file_uploads_and_traces_like_keras(
    client: TestClient, saved: dict[str, Any], case: str, filename: str
) -> None:
    s = saved[case]
    res = _upload(client, s["folder"] / filename, s["cell"], "embedding" in case)
    assert res.status_code == 201, res.text
    answer = res.json()
    assert answer["layout"] == "keras" and answer["readout_size"] is not None
    bidir = case.startswith("bidir")
    assert answer["num_directions"] == (2 if bidir else 1)
    roles = {r["name"]: r for r in answer["tensor_roles"]}
    if bidir:
        back = [r for r in roles.values() if r["direction"] == "backward"]
        assert {b for r in back for b in r["became"]} >= {"weight_ih_l0_reverse",
                                                          "weight_hh_l0_reverse"}  # fmt: skip
    body: dict[str, Any] = {"model": {"id": answer["id"]}, "dtype": "float64"}
    if "embedding" in case:
        body["text"] = TEXT
    else:
        body["inputs"] = s["x"][0].tolist()
    traced = client.post("/api/v1/trace", json=body)
    assert traced.status_code == 200, traced.text
    t = traced.json()
    rnn_out = [y for kind, y in s["outputs"] if kind in ("LSTM", "GRU", "SimpleRNN",
                                                        "Bidirectional")]  # fmt: skip
    for k, expect in enumerate(rnn_out):
        layer = t["layers"][k]
        h = np.asarray(layer["h"])
        if bidir:
            h = np.concatenate([h, np.asarray(layer["backward"]["h"])], axis=1)
        np.testing.assert_allclose(h, expect, atol=1e-5)
    logits = s["outputs"][-1][1]
    np.testing.assert_allclose(t["readout"]["logits"], logits, atol=1e-5)


def test_lstm_gates_equal_keras_cell_gates(client: TestClient, saved: dict[str, Any]) -> None:
    """i, f, g, o and c from the trace equal the gates computed from Keras's own weights."""
    s = saved["lstm"]
    res = _upload(client, s["folder"] / "m.keras", "lstm", False)
    t = client.post("/api/v1/trace", json={"model": {"id": res.json()["id"]},
                                           "inputs": s["x"][0].tolist()}).json()  # fmt: skip
    model = _keras().saving.load_model(str(s["folder"] / "m.keras"))
    kernel, rk, bias = (np.asarray(w, dtype=np.float64) for w in model.layers[0].get_weights())
    h, c, H = np.zeros(4), np.zeros(4), 4
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for step, x in enumerate(s["x"][0].astype(np.float64)):
        z = x @ kernel + h @ rk + bias
        i, f, g, o = sig(z[:H]), sig(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), sig(z[3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, value in (("i", i), ("f", f), ("g", g), ("o", o), ("c", c)):
            np.testing.assert_allclose(t["layers"][0][name][step], value, atol=1e-5)


def test_a_lambda_between_the_rnn_and_the_readout_is_refused_by_name(
    client: TestClient, saved: dict[str, Any], tmp_path: Path
) -> None:
    keras = _keras()
    L = keras.layers
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(2, return_sequences=True),
                              L.Lambda(lambda v: v * 2, name="doubler"), L.Dense(2)])  # fmt: skip
    model.save(str(tmp_path / "m.keras"))
    res = _upload(client, tmp_path / "m.keras", "lstm", False)
    assert res.status_code == 422, res.text
    assert "doubler" in res.json()["message"] and "Lambda" in res.json()["message"]


def test_a_lambda_after_the_readout_is_left_out(client: TestClient, tmp_path: Path) -> None:
    keras = _keras()
    L = keras.layers
    model = keras.Sequential([keras.Input((None, 3)), L.Dropout(0.1),
                              L.LSTM(2, return_sequences=True), L.Dense(2),
                              L.Lambda(lambda v: v * 2, name="after")])  # fmt: skip
    model.save(str(tmp_path / "m.keras"))
    res = _upload(client, tmp_path / "m.keras", "lstm", False)
    assert res.status_code == 201, res.text
    assert res.json()["readout_size"] == 2


@pytest.mark.parametrize("mode", ["sum", "mul", "ave"])
def test_bidirectional_merge_modes_other_than_concat_are_refused(
    client: TestClient, tmp_path: Path, mode: str
) -> None:
    keras = _keras()
    L = keras.layers
    model = keras.Sequential(
        [keras.Input((None, 3)), L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=mode)]
    )
    model.save(str(tmp_path / "m.keras"))
    res = _upload(client, tmp_path / "m.keras", "lstm", False)
    assert res.status_code == 422 and f"merge_mode {mode!r}" in res.json()["message"], res.text


def test_a_relu_simple_rnn_uploads_with_cell_rnn_relu_from_either_file(
    client: TestClient, tmp_path: Path
) -> None:
    keras = _keras()
    L = keras.layers
    model = keras.Sequential(
        [keras.Input((None, 3)), L.SimpleRNN(3, activation="relu", return_sequences=True)]
    )
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    expect = keras.ops.convert_to_numpy(model(X))[0]
    for name in ("m.keras", "m.weights.h5"):
        res = _upload(client, tmp_path / name, "rnn_relu", False)
        assert res.status_code in (200, 201), res.text  # the same weights: the same model
        body = {"model": {"id": res.json()["id"]}, "inputs": X[0].tolist(), "dtype": "float64"}
        h = client.post("/api/v1/trace", json=body).json()["layers"][0]["h"]
        np.testing.assert_allclose(h, expect, atol=1e-5)
    refused = _upload(client, tmp_path / "m.keras", "rnn_tanh", False)
    assert refused.status_code == 422 and "upload with cell rnn_relu" in refused.json()["message"]


def test_the_wrong_cell_for_a_keras_file_names_the_right_one(
    client: TestClient, saved: dict[str, Any]
) -> None:
    res = _upload(client, saved["gru"]["folder"] / "m.keras", "lstm", False)
    assert res.status_code == 422 and "upload it with cell gru" in res.json()["message"]


def test_weights_h5_with_two_dense_layers_asks_for_the_keras_file(
    client: TestClient, tmp_path: Path
) -> None:
    keras = _keras()
    L = keras.layers
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(2, return_sequences=True),
                              L.Dense(4), L.Dense(2)])  # fmt: skip
    model.save_weights(str(tmp_path / "m.weights.h5"))
    res = _upload(client, tmp_path / "m.weights.h5", "lstm", False)
    assert res.status_code == 422, res.text
    assert "several Dense layers" in res.json()["message"] and ".keras" in res.json()["message"]


def _config_zip(layers: list[dict[str, Any]], weights: bytes) -> bytes:
    import io
    import zipfile

    config = {"class_name": "Sequential", "config": {"name": "s", "layers": layers}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", "{}")
        z.writestr("model.weights.h5", weights)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("place", "refused"), [("before", True), ("between", True), ("after", False)]
)
def test_a_custom_layer_is_refused_by_name_only_where_it_matters(
    client: TestClient, saved: dict[str, Any], place: str, refused: bool
) -> None:
    """A hand-written config (no Keras needed to read it) around the saved LSTM's weights."""
    weights = (saved["stacked_lstm"]["folder"] / "m.weights.h5").read_bytes()
    entry = {"class_name": "my_pkg>Wobble", "config": {"name": "wobble"}}
    rnns = [{"class_name": "LSTM", "config": {"name": n}} for n in ("lstm", "lstm_1")]
    dense = {"class_name": "Dense", "config": {"name": "dense"}}
    layers = {"before": [entry, *rnns, dense], "between": [rnns[0], entry, rnns[1], dense],
              "after": [*rnns, dense, entry]}[place]  # fmt: skip
    blob = _config_zip(layers, weights)
    res = client.post("/api/v1/models", data={"cell": "lstm"}, files={"file": ("m.keras", blob)})
    if refused:
        assert res.status_code == 422, res.text
        assert "wobble (my_pkg>Wobble)" in res.json()["message"]
    else:
        assert res.status_code == 201, res.text


def test_a_corrupt_keras_upload_is_422_and_the_server_still_answers(client: TestClient) -> None:
    blob = _config_zip([], b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    res = client.post("/api/v1/models", data={"cell": "lstm"}, files={"file": ("m.keras", blob)})
    assert res.status_code == 422 and res.json()["details"][0]["field"] == "file", res.text
    assert client.get("/api/v1/models").status_code == 200
