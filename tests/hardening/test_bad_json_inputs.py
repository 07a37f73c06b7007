"""Hostile JSON bodies against every JSON endpoint: each is a 4xx JSON error naming the problem.

The server is a real uvicorn process (tests/hardening/conftest.py) with a 1 MiB body limit,
so a crash, a 500 or a hang (15 s client timeout) shows up as it would in production.
"""

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.hardening.conftest import SMALL_BODY, has_route

LSTM = {"cell": "lstm", "input_size": 2, "hidden_size": 3}
OK_INPUTS = [[0.5, -1.0], [0.25, 0.0]]


@dataclass(frozen=True)
class Bad:
    name: str
    body: Any  # bytes are sent as they are, anything else as JSON
    status: tuple[int, ...] = (400, 422)
    says: str = ""  # the message (or a detail) must contain this, lowercased


def trace(**over: Any) -> dict[str, Any]:
    return {"model": LSTM, "inputs": OK_INPUTS, **over}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


TRACE_CASES = [
    Bad("malformed_json", b'{"model": {"cell": "lstm",', says=""),
    Bad("not_an_object", b"[1, 2, 3]"),
    Bad("empty_body", b""),
    Bad("non_utf8_body", b'{"model": "\xff\xfe\xfd"}'),
    Bad("model_missing", {"inputs": OK_INPUTS}, says="model"),
    Bad("unknown_field", trace(colour="red"), says="colour"),
    Bad("unknown_cell", trace(model={**LSTM, "cell": "transformer"}), says="cell"),
    Bad("size_as_string", trace(model={**LSTM, "input_size": "2"}), says="input_size"),
    Bad("size_as_bool", trace(model={**LSTM, "hidden_size": True}), says="hidden_size"),
    Bad("size_fractional", trace(model={**LSTM, "hidden_size": 2.5}), says="hidden_size"),
    Bad("size_zero", trace(model={**LSTM, "hidden_size": 0}), says="hidden_size"),
    Bad("size_negative", trace(model={**LSTM, "input_size": -4}), says="input_size"),
    Bad("size_huge", trace(model={**LSTM, "hidden_size": 10**12}), says="hidden_size"),
    Bad("size_1e400", b'{"model": {"cell": "lstm", "input_size": 1e400, "hidden_size": 3}}'),
    Bad("layers_over_limit", trace(model={**LSTM, "num_layers": 99}), says="num_layers"),
    Bad("seed_over_range", trace(model={**LSTM, "seed": 2**40}), says="seed"),
    Bad("number_as_bool", trace(inputs=[[True, 0.0]]), says="inputs"),
    Bad("number_as_string", trace(inputs=[["0.5", 0.0]]), says="inputs"),
    Bad("number_null", trace(inputs=[[None, 0.0]]), says="inputs"),
    Bad("nan_literal", b'{"model": {"input_size": 2, "hidden_size": 3}, "inputs": [[NaN, 1]]}'),
    Bad(
        "infinity_literal",
        b'{"model": {"input_size": 2, "hidden_size": 3}, "inputs": [[1, -Infinity]]}',
    ),
    Bad(
        "overflow_to_inf", b'{"model": {"input_size": 2, "hidden_size": 3}, "inputs": [[1e999, 1]]}'
    ),
    Bad("inputs_not_list", trace(inputs="hello"), says="inputs"),
    Bad("inputs_flat", trace(inputs=[0.5, 1.0]), says="inputs"),
    Bad("inputs_empty", trace(inputs=[]), says="inputs"),
    Bad("step_empty", trace(inputs=[[]]), says="inputs[0]"),
    Bad("ragged", trace(inputs=[[0.5, 1.0], [0.5]]), says="inputs[1]"),
    Bad("wrong_width", trace(inputs=[[0.5, 1.0, 2.0]]), says="inputs[0]"),
    Bad("too_deep", trace(inputs=[[[0.5], [1.0]]]), says="inputs"),
    Bad("deep_nesting_2k", nested(2_000)),
    Bad("deep_nesting_100k", nested(100_000), status=(400, 413, 422)),
    Bad("too_many_steps", trace(inputs=[[0.0, 0.0]] * 5000), status=(413,), says="limit"),
    Bad(
        "compute_budget",
        {
            "model": {"input_size": 1, "hidden_size": 512, "num_layers": 4},
            "inputs": [[0.0]] * 4096,
        },
        status=(413,),
        says="compute",
    ),
    Bad("h0_wrong_width", trace(h0=[[0.0, 0.0]]), says="h0"),
    Bad(
        "h0_nan",
        b'{"model": {"input_size": 2, "hidden_size": 1}, "inputs": [[1, 1]], "h0": [[NaN]]}',
    ),
    Bad("dtype_unknown", trace(dtype="float16"), says="dtype"),
    Bad(
        "unknown_model_id",
        {"model": {"id": "no-such-model"}, "inputs": OK_INPUTS},
        (404,),
        "no-such-model",
    ),
    Bad("model_id_huge", {"model": {"id": "x" * 10_000}, "inputs": OK_INPUTS}, says="id"),
    Bad("model_both_kinds", trace(model={**LSTM, "id": "abc"})),
    Bad(
        "text_without_vocab",
        {"model": LSTM, "text": "\u2603 😀 outside any vocabulary"},
        (404, 422),
    ),
    Bad(
        "lone_surrogate_text", b'{"model": {"input_size": 2, "hidden_size": 3}, "text": "\\ud800"}'
    ),
    Bad("lone_surrogate_key", b'{"model": {"input_size": 2, "hidden_size": 3}, "\\udfff": 1}'),
    Bad("very_long_text", {"model": LSTM, "text": "a" * 500_000}, (413, 422)),
    Bad("body_over_limit", b'{"inputs": [' + b"0.0," * (SMALL_BODY // 4) + b"0]}", (413,), "limit"),
    Bad("clamp_garbage", trace(clamp={"layer": "x"})),
    Bad("fields_garbage", trace(fields=[1, 2, {"x": None}])),
]

LOSS = {"kind": "unit", "step": 0, "layer": 0, "unit": 0}
GRADIENT_CASES = [
    Bad("malformed_json", b"{"),
    Bad("loss_missing", trace()),
    Bad("loss_unknown_kind", trace(loss={"kind": "mse"}), says="loss"),
    Bad("loss_step_out_of_range", trace(loss={**LOSS, "step": 99}), (404, 422), "step"),
    Bad("loss_unit_out_of_range", trace(loss={**LOSS, "unit": 3}), (404, 422), "unit"),
    Bad("loss_step_bool", trace(loss={**LOSS, "step": True}), says="step"),
    Bad("loss_negative_layer", trace(loss={**LOSS, "layer": -1}), says="layer"),
    Bad("xent_targets_ragged", trace(loss={"kind": "xent", "targets": [[1], 2]})),
    Bad(
        "inputs_nan",
        (
            b'{"model": {"input_size": 1, "hidden_size": 1}, "inputs": [[NaN]],'
            b' "loss": {"kind": "unit", "step": 0, "layer": 0, "unit": 0}}'
        ),
    ),
    Bad("too_many_steps", trace(inputs=[[0.0, 0.0]] * 5000, loss=LOSS), (413, 422), "limit"),
]


def check_error(r: httpx.Response, case: Bad) -> None:
    assert r.status_code in case.status, f"{case.name}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/json"), case.name
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], case.name
    assert isinstance(body.get("message"), str) and body["message"], case.name
    if case.says:
        text = (body["message"] + json.dumps(body.get("details", []))).lower()
        assert case.says.lower() in text, (
            f"{case.name}: message does not name {case.says!r}: {text[:300]}"
        )


def send(http: httpx.Client, path: str, case: Bad) -> httpx.Response:
    if isinstance(case.body, bytes):
        return http.post(path, content=case.body, headers={"content-type": "application/json"})
    return http.post(path, json=case.body)


@pytest.mark.parametrize("case", TRACE_CASES, ids=lambda c: c.name)
def test_trace_rejects_bad_input(http: httpx.Client, case: Bad) -> None:
    check_error(send(http, "/api/v1/trace", case), case)


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=lambda c: c.name)
def test_gradients_reject_bad_input(http: httpx.Client, case: Bad) -> None:
    if not has_route(http, "post", "/api/v1/gradients"):
        pytest.fail("POST /api/v1/gradients is missing from this build")
    check_error(send(http, "/api/v1/gradients", case), case)


MODEL_ID_CASES = [
    Bad("unknown_id", b"no-such-model", (404,), "no-such-model"),
    Bad("traversal_id", b"..%2F..%2Fetc%2Fpasswd", (404, 422)),
    Bad("dot_id", b"..", (404, 422)),
    Bad("long_id", b"a" * 5000, (404, 414, 422)),
    Bad("non_utf8_id", b"%FF%FE", (404, 422)),
]


@pytest.mark.parametrize("case", MODEL_ID_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("suffix", ["", "/weights"])
def test_model_lookup_rejects_bad_ids(http: httpx.Client, case: Bad, suffix: str) -> None:
    if not has_route(http, "get", "/api/v1/models/{}"):
        pytest.fail("GET /api/v1/models/{model_id} is missing from this build")
    check_error(http.get(f"/api/v1/models/{case.body.decode()}{suffix}"), case)


def test_delete_unknown_or_without_token_is_4xx(http: httpx.Client) -> None:
    if not has_route(http, "delete", "/api/v1/models/{}"):
        pytest.fail("DELETE /api/v1/models/{model_id} is missing from this build")
    for path in ("/api/v1/models/no-such-model", "/api/v1/models/..%2F.."):
        r = http.delete(path)
        assert 400 <= r.status_code < 500 and r.json()["message"], r.text


def test_healthz_answers_after_everything(http: httpx.Client) -> None:
    r = http.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    good = http.post("/api/v1/trace", json=trace())
    assert good.status_code == 200 and good.json()["steps"] == 2
