"""The trace on the wire: safetensors request bodies, gzip'd JSON answers, strong ETags."""

import gzip
import json
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MODEL = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "num_layers": 2, "seed": 7}
BI = {**MODEL, "bidirectional": True}
INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0], [-2.0, 0.5]]
BINARY = {"Content-Type": "application/vnd.safetensors"}


def body(options: dict[str, Any], **tensors: np.ndarray) -> bytes:
    """A binary trace request: the tensors, and the other fields as __metadata__.request."""
    return safetensors.numpy.save(tensors, metadata={"request": json.dumps(options)})


def post_binary(client: TestClient, blob: bytes, **headers: str) -> Any:
    return client.post("/api/v1/trace", content=blob, headers=BINARY | headers)


def error(res: Any) -> tuple[int, str, str]:
    data = res.json()
    return res.status_code, data["error"], data.get("field") or data["details"][0]["field"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_request_traces_exactly_as_the_json_request(client: TestClient, dtype: Any) -> None:
    x = np.asarray(INPUTS, dtype=dtype)
    got = post_binary(client, body({"model": MODEL}, inputs=x))
    assert got.status_code == 200, got.text
    want = client.post("/api/v1/trace", json={"model": MODEL, "inputs": x.tolist()})
    assert got.json() == want.json()


def test_binary_request_with_h0_c0_for_a_bidirectional_model(client: TestClient) -> None:
    h0 = np.linspace(-0.5, 0.5, 12).reshape(4, 3)  # 2 layers x 2 directions
    c0 = -h0
    opts = {"model": BI, "format": "safetensors"}
    got = post_binary(client, body(opts, inputs=np.asarray(INPUTS), h0=h0, c0=c0))
    assert got.status_code == 200, got.text
    want = client.post(
        "/api/v1/trace", json={**opts, "inputs": INPUTS, "h0": h0.tolist(), "c0": c0.tolist()}
    )
    a, b = safetensors.numpy.load(got.content), safetensors.numpy.load(want.content)
    assert sorted(a) == sorted(b) and "layers.1.backward.c" in a
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_binary_request_rejects_h0_with_one_row_per_layer_for_a_bidirectional_model(
    client: TestClient,
) -> None:
    blob = body({"model": BI}, inputs=np.asarray(INPUTS), h0=np.zeros((2, 3)))
    res = post_binary(client, blob)
    assert error(res) == (422, "shape_mismatch", "h0")
    assert "expected one per layer and direction (4)" in res.json()["message"]


def test_binary_request_rejects_nan_input_naming_the_element(client: TestClient) -> None:
    x = np.asarray(INPUTS)
    x[2, 1] = np.nan
    res = post_binary(client, body({"model": MODEL}, inputs=x))
    assert res.status_code == 422
    assert res.json()["details"][0]["field"] == "inputs[2][1]"


@pytest.mark.parametrize(
    ("blob", "field"),
    [
        (b"\x01\x02", "body"),  # shorter than the 8-byte header length
        ((1 << 40).to_bytes(8, "little") + b"{}", "body"),  # a header past the body
        (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "body"),  # a header that is not an object
    ],
)
def test_binary_request_rejects_a_body_that_is_not_safetensors(
    client: TestClient, blob: bytes, field: str
) -> None:
    res = post_binary(client, blob)
    assert res.status_code == 422
    assert res.json()["details"][0]["field"] == field


def test_binary_request_rejects_a_wrong_width_and_an_unknown_tensor(client: TestClient) -> None:
    res = post_binary(client, body({"model": MODEL}, inputs=np.zeros((4, 5))))
    assert error(res) == (422, "shape_mismatch", "inputs")
    res = post_binary(client, body({"model": MODEL}, inputs=np.zeros((4, 2)), w=np.zeros((1, 1))))
    assert res.status_code == 422 and res.json()["details"][0]["field"] == "w"


def test_binary_request_rejects_integer_inputs_by_dtype(client: TestClient) -> None:
    res = post_binary(client, body({"model": MODEL}, inputs=np.zeros((4, 2), dtype=np.int32)))
    assert res.status_code == 422
    assert "it must be F32 or F64" in res.json()["details"][0]["message"]


def test_binary_request_past_the_step_limit_is_413(client: TestClient) -> None:
    res = post_binary(client, body({"model": MODEL}, inputs=np.zeros((100_000, 2))))
    assert res.status_code == 413 and res.json()["error"] == "limit_exceeded"


def test_large_json_answer_is_gzipped_when_the_client_accepts_it(client: TestClient) -> None:
    req = {"model": MODEL, "inputs": INPUTS * 50}
    plain = client.post("/api/v1/trace", json=req, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = client.post("/api/v1/trace", json=req, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()  # httpx decodes the gzip member
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert "gzip;dur=" in packed.headers["server-timing"]


def test_small_and_binary_answers_are_not_gzipped(client: TestClient) -> None:
    small = client.post(
        "/api/v1/trace",
        json={"model": MODEL, "inputs": INPUTS[:1], "fields": ["h"]},
        headers={"Accept-Encoding": "gzip"},
    )
    assert "content-encoding" not in small.headers
    blob = client.post(
        "/api/v1/trace",
        json={"model": MODEL, "inputs": INPUTS * 50, "format": "safetensors"},
        headers={"Accept-Encoding": "gzip"},
    )
    assert "content-encoding" not in blob.headers


def test_gzip_member_decompresses_with_the_standard_library(client: TestClient) -> None:
    req = {"model": MODEL, "inputs": INPUTS * 50}
    with client.stream(
        "POST", "/api/v1/trace", json=req, headers={"Accept-Encoding": "gzip"}
    ) as res:
        raw = b"".join(res.iter_raw())
    assert json.loads(gzip.decompress(raw))["steps"] == 200


def test_repeated_trace_of_a_stored_model_answers_304(client: TestClient) -> None:
    req = {"model": {"id": "sine-lstm"}, "inputs": [[0.1], [0.2]], "format": "safetensors"}
    first = client.post("/api/v1/trace", json=req)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith('W/"')
    again = client.post("/api/v1/trace", json=req, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = client.post(
        "/api/v1/trace", json={**req, "inputs": [[0.1], [0.3]]}, headers={"If-None-Match": etag}
    )
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_etag_differs_by_format_dtype_and_coding(client: TestClient) -> None:
    req = {"model": MODEL, "inputs": INPUTS * 50}
    tags = {
        client.post("/api/v1/trace", json=req, headers={"Accept-Encoding": "gzip"}).headers["etag"],
        client.post("/api/v1/trace", json=req, headers={"Accept-Encoding": "identity"}).headers[
            "etag"
        ],
        client.post("/api/v1/trace", json={**req, "dtype": "float32"}).headers["etag"],
        client.post("/api/v1/trace", json={**req, "format": "safetensors"}).headers["etag"],
    }
    assert len(tags) == 4


def test_etag_of_an_upload_changes_when_its_weights_do(client: TestClient) -> None:
    rng = np.random.default_rng(0)
    tags = []
    for _ in range(2):
        sd = {
            "weight_ih_l0": rng.normal(size=(8, 1)),
            "weight_hh_l0": rng.normal(size=(8, 2)),
            "bias_ih_l0": rng.normal(size=8),
            "bias_hh_l0": rng.normal(size=8),
        }
        files = {"file": ("m.safetensors", safetensors.numpy.save(sd))}
        up = client.post("/api/v1/models", files=files, data={"cell": "lstm"})
        assert up.status_code == 201, up.text
        req = {"model": {"id": up.json()["id"]}, "inputs": [[0.5]]}
        tags.append(client.post("/api/v1/trace", json=req).headers["etag"])
    assert tags[0] != tags[1]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.dictionaries(
        st.sampled_from(["inputs", "h0", "c0", "__metadata__", "x"]),
        st.fixed_dictionaries(
            {},
            optional={
                "dtype": st.sampled_from(["F32", "F64", "I8", "BF16", 3]),
                "shape": st.lists(st.integers(-2, 2**40), max_size=3),
                "data_offsets": st.lists(st.integers(-2, 2**40), max_size=3),
                "request": st.sampled_from(['{"model": {"id": "sine-lstm"}}', "{", "[]", 1]),
            },
        ),
        max_size=4,
    ),
    payload=st.binary(max_size=64),
)
def test_binary_request_never_fails_with_a_500_on_hostile_headers(
    client: TestClient, header: dict[str, Any], payload: bytes
) -> None:
    text = json.dumps(header).encode()
    res = post_binary(client, len(text).to_bytes(8, "little") + text + payload)
    assert res.status_code in (200, 413, 422), res.text
