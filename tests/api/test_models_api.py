import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from safetensors.numpy import load, save

from app.config import Settings
from app.engine import from_torch, run_trace, to_keras
from app.main import create_app
from tests.api.helpers import VOCAB, lstm_weights, npz_bytes, upload, with_readout

INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0]]


def uploads(client: TestClient) -> list[dict]:
    return [m for m in client.get("/api/v1/models").json()["models"] if m["source"] == "upload"]


def test_upload_answers_201_with_a_content_id_and_a_delete_token(client: TestClient) -> None:
    res = upload(client, lstm_weights(seed=1))
    assert res.status_code == 201, res.text
    body = res.json()
    assert len(body["id"]) == 24 and int(body["id"], 16) >= 0
    assert len(body["delete_token"]) >= 32 and body["created_now"] is True
    assert (body["cell"], body["input_size"], body["hidden_size"], body["num_layers"]) == (
        "lstm", 2, 3, 1,
    )  # fmt: skip
    assert (body["name"], body["source"], body["parameters"]) == ("test model", "upload", 84)


def test_the_same_file_twice_gives_the_same_id_and_keeps_the_first_token(
    client: TestClient,
) -> None:
    first = upload(client, lstm_weights(seed=2)).json()
    again = upload(client, lstm_weights(seed=2), name="another name")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["delete_token"] is None and again.json()["created_now"] is False
    assert again.json()["name"] == "test model"  # the stored model is unchanged
    other = upload(client, lstm_weights(seed=3)).json()
    assert other["id"] != first["id"]


def test_the_same_weights_as_npz_or_json_get_the_same_id(client: TestClient) -> None:
    weights = lstm_weights(seed=4)
    ids = {
        upload(client, weights).json()["id"],
        upload(client, filename="m.npz", content=npz_bytes(weights)).json()["id"],
        upload(
            client,
            filename="m.json",
            content=json.dumps({k: v.tolist() for k, v in weights.items()}).encode(),
        ).json()["id"],
    }
    assert len(ids) == 1


def test_keras_layout_npz_traces_like_its_torch_original(client: TestClient) -> None:
    params = {k: v.astype(np.float64) for k, v in lstm_weights(seed=5).items()}
    keras = {k: np.asarray(v) for k, v in to_keras("lstm", params).items()}
    res = upload(client, filename="k.npz", content=npz_bytes(keras), layout="keras")
    assert res.status_code in (200, 201), res.text
    body = {"model": {"id": res.json()["id"]}, "inputs": INPUTS}
    traced = client.post("/api/v1/trace", json=body).json()
    expected = run_trace("lstm", params, np.asarray(INPUTS))
    np.testing.assert_allclose(traced["layers"][0]["h"], expected.layers[0]["h"], atol=1e-12)


def test_list_and_get_describe_the_model(client: TestClient) -> None:
    tensors = with_readout(lstm_weights(len(VOCAB), 3, seed=6), vocab_size=len(VOCAB))
    created = upload(client, tensors, vocab=json.dumps(VOCAB), name="chars").json()
    listed = client.get("/api/v1/models").json()["models"]
    assert created["id"] in [m["id"] for m in listed]
    info = client.get(f"/api/v1/models/{created['id']}").json()
    assert info["vocab"] == VOCAB and info["readout_size"] == len(VOCAB)
    assert info["labels"] == VOCAB  # a readout as wide as the vocabulary predicts its tokens
    assert info["name"] == "chars" and "delete_token" not in info
    assert not any("token_sha256" in key for key in info)


def test_unknown_model_is_a_json_404(client: TestClient) -> None:
    for path in ("/api/v1/models/0123456789abcdef01234567", "/api/v1/models/nope/weights"):
        res = client.get(path)
        assert res.status_code == 404
        assert res.json()["error"] == "not_found"


def test_downloaded_weights_load_and_upload_again_as_the_same_model(client: TestClient) -> None:
    tensors = with_readout(lstm_weights(len(VOCAB), 3, seed=7), vocab_size=len(VOCAB))
    created = upload(client, tensors, vocab=json.dumps(VOCAB)).json()
    res = client.get(f"/api/v1/models/{created['id']}/weights")
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/octet-stream"
    assert created["id"] in res.headers["content-disposition"]
    weights = load(res.content)
    assert set(weights) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                            "readout.weight", "readout.bias"}  # fmt: skip
    np.testing.assert_array_equal(weights["readout.weight"], tensors["decoder.weight"])
    again = upload(client, content=res.content, vocab=json.dumps(VOCAB))
    assert again.json()["id"] == created["id"]


def test_delete_needs_the_token(client: TestClient) -> None:
    created = upload(client, lstm_weights(seed=8)).json()
    path = f"/api/v1/models/{created['id']}"
    missing = client.delete(path)
    assert missing.status_code == 403
    assert "X-Delete-Token" in missing.json()["message"]
    wrong = client.delete(path, headers={"X-Delete-Token": "not-the-token"})
    assert wrong.status_code == 403
    assert client.get(path).status_code == 200
    done = client.delete(path, headers={"X-Delete-Token": created["delete_token"]})
    assert done.status_code == 204 and done.content == b""
    assert client.get(path).status_code == 404
    trace = client.post("/api/v1/trace", json={"model": {"id": created["id"]}, "inputs": INPUTS})
    assert trace.status_code == 404
    assert client.delete(path, headers={"X-Delete-Token": created["delete_token"]}).status_code == (
        404
    )


def test_a_pytorch_pickle_is_refused_with_the_export_lines(client: TestClient) -> None:
    res = upload(client, filename="model.pt", content=b"\x80\x02}q\x00.")
    assert res.status_code == 415
    message = res.json()["message"]
    assert "from safetensors.torch import save_file" in message
    assert 'save_file(model.state_dict(), "model.safetensors")' in message


def test_a_pickle_renamed_to_safetensors_is_refused_unread(client: TestClient) -> None:
    res = upload(client, filename="model.safetensors", content=b"\x80\x04\x95\x00")
    assert res.status_code == 415
    assert res.json()["error"] == "unsupported_file"


def test_upload_then_restart_on_the_same_folder_then_trace_again(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        created = upload(first, lstm_weights(seed=9)).json()
        body = {"model": {"id": created["id"]}, "inputs": INPUTS}
        before = first.post("/api/v1/trace", json=body).json()
    with TestClient(create_app(settings)) as second:
        assert created["id"] in [m["id"] for m in second.get("/api/v1/models").json()["models"]]
        after = second.post("/api/v1/trace", json=body).json()
        token = {"X-Delete-Token": created["delete_token"]}
        assert second.delete(f"/api/v1/models/{created['id']}", headers=token).status_code == 204
    assert after == before


def test_prefix_chooses_one_of_several_recurrent_modules(client: TestClient) -> None:
    tensors = {**{f"enc.{k}": v for k, v in lstm_weights(seed=10).items()},
               **{f"dec.{k}": v for k, v in lstm_weights(seed=11).items()}}  # fmt: skip
    ambiguous = upload(client, tensors)
    assert ambiguous.status_code == 422
    assert "choose one with prefix" in ambiguous.json()["message"]
    chosen = upload(client, tensors, prefix="dec.")
    assert chosen.status_code == 201, chosen.text
    params, _ = from_torch("lstm", {k: v for k, v in tensors.items() if k.startswith("dec.")})
    traced = client.post(
        "/api/v1/trace", json={"model": {"id": chosen.json()["id"]}, "inputs": INPUTS}
    ).json()
    expected = run_trace("lstm", params, np.asarray(INPUTS))
    np.testing.assert_allclose(traced["layers"][0]["h"], expected.layers[0]["h"], atol=1e-12)


@pytest.mark.parametrize(
    ("form", "says", "field"),
    [
        ({"cell": "gru"}, "weight_ih_l0 has shape (12, 2), expected (9, 2) (lstm", "file"),
        ({"cell": "transformer"}, "cell", "cell"),
        ({"layout": "onnx"}, "layout", "layout"),
        ({"name": "x" * 101}, "name has 101 characters, the limit is 100", "name"),
        ({"vocab": "[a, b"}, "vocab must be a JSON list", "vocab"),
        ({"vocab": '["a", "a"]'}, "vocab[1] repeats the token 'a'", "vocab[1]"),
        (
            {"vocab": '["a", "b", "c"]'},
            "vocab has 3 tokens but the RNN takes 2 inputs, and no embedding (3 x 2, no bias)",
            "vocab",
        ),
        ({"prefix": "enc"}, "missing tensor enc.weight_ih_l0", "prefix"),
        ({"layout": "keras"}, "looks like a PyTorch state_dict name: use layout torch", "file"),
    ],
)
def test_bad_form_fields_are_422_naming_them(
    client: TestClient, form: dict, says: str, field: str
) -> None:
    res = upload(client, lstm_weights(seed=12), **form)
    assert res.status_code == 422, res.text
    assert says in res.json()["message"]
    assert res.json()["details"][0]["field"] == field  # layout refusals had no field


def test_weights_over_the_size_limits_name_the_file_and_the_setting(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_hidden_size=2))) as c:
        res = upload(c, lstm_weights(2, 3))
    assert res.status_code == 422
    # it named model.hidden_size, a field the upload form does not have
    assert (
        res.json()["message"]
        == "file's weights have hidden_size 3, the limit is 2 (max_hidden_size)"
    )
    assert res.json()["details"][0]["field"] == "file"


def test_a_boolean_weight_is_refused_as_booleans_not_as_missing(client: TestClient) -> None:
    weights = {**lstm_weights(seed=14), "weight_ih_l0": np.ones((12, 2), dtype=bool)}
    res = upload(client, weights)
    assert res.status_code == 422
    assert res.json()["message"] == "weight_ih_l0 holds booleans; weights must be real numbers"


def test_nan_weights_are_refused_naming_the_tensor(client: TestClient) -> None:
    weights = lstm_weights(seed=13)
    weights["weight_hh_l0"][2, 1] = np.nan
    res = upload(client, weights)
    assert res.status_code == 422
    assert res.json()["message"].startswith("weight_hh_l0[2, 1] is nan")
    assert uploads(client) == []


def test_file_over_the_upload_limit_is_413(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_upload_bytes=2048))) as c:
        res = upload(c, lstm_weights(8, 16))
    assert res.status_code == 413
    assert "max_upload_bytes" in res.json()["message"]


def test_a_full_store_is_507_and_keeps_what_it_has(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_stored_models=1))) as c:
        assert upload(c, lstm_weights(seed=14)).status_code == 201
        res = upload(c, lstm_weights(seed=15))
        assert res.status_code == 507
        assert res.json()["message"] == (
            "the store holds 1 uploaded models, the limit is 1 (max_stored_models)"
        )
        assert len(uploads(c)) == 1


def test_stored_file_holds_a_hash_of_the_token_not_the_token(
    client: TestClient, settings: Settings
) -> None:
    created = upload(client, lstm_weights(seed=16)).json()
    raw = (settings.data_dir / "models" / f"{created['id']}.safetensors").read_bytes()
    assert created["delete_token"].encode() not in raw
    assert b"_delete_token_sha256" in raw


def test_readyz_counts_models(client: TestClient) -> None:
    upload(client, lstm_weights(seed=17))
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.json()["status"] == "ready" and res.json()["uploaded"] == 1


def test_weights_download_is_valid_safetensors_without_secrets(client: TestClient) -> None:
    created = upload(client, lstm_weights(seed=18)).json()
    blob = client.get(f"/api/v1/models/{created['id']}/weights").content
    assert b"_delete_token_sha256" not in blob
    assert load(blob)["weight_hh_l0"].dtype == np.float32  # float32 uploads stay float32
    assert save(load(blob))  # round-trips through the library


def builtins(client: TestClient) -> dict[str, dict]:
    listed = client.get("/api/v1/models").json()["models"]
    found = {m["id"]: m for m in listed if m["source"] == "builtin"}
    if not found:
        pytest.fail("this build ships no built-in models")
    return found


def test_builtin_models_come_first_and_trace_their_example(client: TestClient) -> None:
    found = builtins(client)
    listed = client.get("/api/v1/models").json()["models"]
    assert [m["source"] for m in listed[: len(found)]] == ["builtin"] * len(found)
    for model_id, info in found.items():
        assert info["description"]["en"] and info["description"]["zh"], model_id
        example = info.get("example")
        if info.get("vocab") and isinstance(example, str):
            body = {"model": {"id": model_id}, "text": example, "dtype": "float32"}
        else:
            body = {"model": {"id": model_id}, "inputs": [[0.5] * info["input_size"]] * 3}
        res = client.post("/api/v1/trace", json=body)
        assert res.status_code == 200, (model_id, res.text)
        assert len(res.json()["layers"]) == info["num_layers"]


def test_builtin_models_cannot_be_deleted(client: TestClient) -> None:
    model_id = next(iter(builtins(client)))
    res = client.delete(f"/api/v1/models/{model_id}", headers={"X-Delete-Token": "x"})
    assert res.status_code == 403
    assert "built-in" in res.json()["message"]
    assert client.get(f"/api/v1/models/{model_id}").status_code == 200


def test_word_vocabulary_splits_text_at_whitespace(client: TestClient) -> None:
    words = ["I", "grew", "up", "in", "France", "French"]
    model = {"cell": "lstm", "input_size": len(words), "hidden_size": 2, "vocab": words}
    body = {"model": model, "text": "I  grew up\nin France"}
    res = client.post("/api/v1/trace", json=body)
    assert res.json()["tokens"] == ["I", "grew", "up", "in", "France"]
    res = client.post("/api/v1/trace", json={"model": model, "text": "I grew up in Paris"})
    assert res.status_code == 422
    assert res.json()["message"] == (
        "text[13] starts the word 'Paris', which is not in the model's vocabulary"
    )


def test_bodies_over_the_limits_are_413_before_parsing(tmp_path: Path) -> None:
    """The byte-counting body limit (app/http/guards.py) guards the API's JSON and upload routes."""
    settings = Settings(data_dir=tmp_path, max_body_bytes=4096, max_upload_bytes=4096)
    with TestClient(create_app(settings)) as c:
        big = {"model": {"input_size": 1, "hidden_size": 1}, "inputs": [[0.0]] * 2000}
        res = c.post("/api/v1/trace", json=big)
        assert res.status_code == 413 and "max_body_bytes" in res.json()["message"]
        huge = bytes(2 * 1024 * 1024)  # past the upload limit plus the room for form fields
        res = upload(c, content=huge)
        assert res.status_code == 413 and "max_upload_bytes" in res.json()["message"]
        assert c.get("/healthz").status_code == 200


def test_an_unwritable_store_is_a_503_saying_so_not_a_500(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a folder under a file cannot be made, even by root
    with TestClient(create_app(Settings(data_dir=blocker / "data"))) as c:
        res = upload(c, lstm_weights(seed=16))
        ready = c.get("/readyz")
    assert res.status_code == 503, res.text
    assert res.json()["error"] == "store_unavailable"
    assert res.json()["message"].startswith("the model store cannot be written (")
    assert ready.status_code == 503
