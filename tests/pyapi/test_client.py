"""gatescope.Client against a real served app (uvicorn in a child process): the same Trace
as gatescope.trace computes here, over the server's safetensors answer."""

import io
import json
import os
from typing import Any

import httpx
import numpy as np
import pytest

import gatescope
from tests.conftest import LiveServer
from tests.pyapi.test_trace_local import VOCAB, _Chars, _torch

pytestmark = pytest.mark.torch


def _upload(server: LiveServer, module: Any, **fields: str) -> str:
    from safetensors.torch import save

    blob = save({k: v.contiguous() for k, v in module.state_dict().items()})
    res = httpx.post(
        f"{server.url}/api/v1/models",
        data={"layout": "torch", "name": "client-test", **fields},
        files={"file": ("m.safetensors", io.BytesIO(blob))},
    )
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _same(a: gatescope.Trace, b: gatescope.Trace) -> None:
    assert (a.cell, a.num_layers, a.hidden_size) == (b.cell, b.num_layers, b.hidden_size)
    for k, layer in enumerate(a.layers):
        assert list(layer) == list(b.layers[k])
        for field, value in layer.items():
            np.testing.assert_allclose(value, b.layers[k][field], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.h_n, b.h_n, rtol=0, atol=1e-10)


def test_stored_model_by_id_over_a_safetensors_body(live_server: LiveServer) -> None:
    torch = _torch()
    torch.manual_seed(5)
    lstm = torch.nn.LSTM(3, 4, num_layers=2).double()
    model_id = _upload(live_server, lstm, cell="lstm")
    x = np.random.default_rng(0).normal(size=(9, 3))
    with gatescope.Client(live_server.url) as client:
        served = client.trace(model_id, x)
    _same(served, gatescope.trace(lstm, x))
    assert served.layers[0].f.dtype == np.float64 and served.layers[0].f.shape == (9, 4)
    np.testing.assert_array_equal(served.inputs, x)


def test_text_through_a_stored_model_with_its_vocabulary(live_server: LiveServer) -> None:
    torch = _torch()
    model = _Chars.make(torch)
    model_id = _upload(live_server, model, cell="lstm", vocab=json.dumps(VOCAB))
    with gatescope.Client(live_server.url) as client:
        served = client.trace(model_id, text="abcd .a")
    ids = np.array([VOCAB.index(ch) for ch in "abcd .a"])
    local = gatescope.trace(model, ids)
    _same(served, local)
    assert served.tokens == list("abcd .a")
    assert served.probs is not None and local.probs is not None
    np.testing.assert_allclose(served.probs, local.probs, rtol=0, atol=1e-10)


def test_a_live_module_sent_inline_and_the_servers_refusals(live_server: LiveServer) -> None:
    torch = _torch()
    torch.manual_seed(6)
    gru = torch.nn.GRU(2, 3).double()
    x = np.random.default_rng(1).normal(size=(5, 2))
    with gatescope.Client(live_server.url) as client:
        _same(client.trace(gru, x), gatescope.trace(gru, x))
        with pytest.raises(gatescope.ServerError) as err:
            client.trace(gru, np.zeros((5, 7)))
        assert err.value.status == 422 and "7" in str(err.value)
        with pytest.raises(gatescope.ServerError) as err:
            client.trace("no-such-model", x)
        assert err.value.status == 404


def test_a_keras_model_sent_as_its_converted_weights(live_server: LiveServer) -> None:
    _torch()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    L = keras.layers
    model = keras.Sequential([keras.Input((None, 3)), L.GRU(4, return_sequences=True),
                              L.Dense(2)])  # fmt: skip
    x = np.random.default_rng(2).normal(size=(6, 3))
    with gatescope.Client(live_server.url) as client:
        served = client.trace(model, x)
    local = gatescope.trace(model, x)
    _same(served, local)
    assert served.logits is not None and local.logits is not None
    np.testing.assert_allclose(served.logits, local.logits, rtol=0, atol=1e-10)
