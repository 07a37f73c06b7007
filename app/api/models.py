"""Models: list, describe, download (safetensors), upload (multipart) and delete (with token)."""

from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, File, Form, Header, Path, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import settings_of, store_of
from app.api.errors import ApiError
from app.api.limits import check_parameters, check_vocab, check_weight_values
from app.api.onnx_upload import onnx_upload, read_onnx_upload
from app.api.resolve import model_from_params
from app.api.responses import ModelList, ModelSummary, UploadResponse, errors
from app.api.schemas import CellName
from app.config import Settings
from app.engine import EngineError, convert_keras, convert_keras_file, convert_torch
from app.store import FileLimits, ModelInfo, ModelStore, read_tensors
from app.store.uploads import is_keras_upload, read_keras_upload

models_router = APIRouter(tags=["models"])
BINARY = {"type": "string", "format": "binary"}
ModelId = Annotated[
    str,
    Path(
        max_length=64,
        description="A built-in model's name or an upload's 24-hex-digit content hash.",
        examples=["delayed-recall-lstm"],
    ),
]


def _public(info: ModelInfo) -> dict[str, Any]:
    return info.public()


@models_router.get("/models", response_model=ModelList)
async def list_models(request: Request) -> JSONResponse:
    """Built-in models first, then uploads (oldest first)."""
    infos = await run_in_threadpool(store_of(request.app.state).list)
    return JSONResponse({"models": [_public(i) for i in infos]})


@models_router.get(
    "/models/{model_id}", response_model=ModelSummary, responses=errors(404)
)  # fmt: skip
async def get_model(model_id: ModelId, request: Request) -> JSONResponse:
    """Name, cell, sizes, vocabulary, task, description (en, zh) and metrics of one model."""
    info = await run_in_threadpool(store_of(request.app.state).info, model_id)
    return JSONResponse(_public(info))


@models_router.get(
    "/models/{model_id}/weights",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": BINARY}},
            "description": "safetensors: PyTorch state_dict names, readout.weight/bias.",
        },
        **errors(404),
    },
)
async def download_weights(model_id: ModelId, request: Request) -> Response:
    """The weights as a safetensors file, loadable with safetensors.torch.load_file."""
    blob = await run_in_threadpool(store_of(request.app.state).weights_file, model_id)
    return Response(
        blob,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{model_id}.safetensors"'},
    )


def _vocab(settings: Settings, raw: str | None) -> list[str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        vocab = orjson.loads(raw)
    except orjson.JSONDecodeError:
        vocab = None
    if not isinstance(vocab, list) or not vocab or not all(isinstance(t, str) for t in vocab):
        raise ApiError(
            422,
            "invalid_vocab",
            'vocab must be a JSON list of tokens (strings), e.g. ["a", "b", " "]',
            "vocab",
        )
    check_vocab(settings, "vocab", vocab)
    return vocab


def _name(settings: Settings, raw: str | None, filename: str) -> str:
    name = (raw or "").strip() or PurePosixPath(filename).stem or "model"
    if len(name) > settings.max_name_length:
        raise ApiError(
            422,
            "limit_exceeded",
            f"name has {len(name)} characters, the limit is {settings.max_name_length} "
            "(max_name_length)",
            "name",
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ApiError(422, "invalid_name", "name must not hold control characters", "name")
    return name


def _store_upload(
    settings: Settings,
    store: ModelStore,
    filename: str,
    data: bytes,
    fields: dict[str, Any],
    prefix: str | None,
) -> tuple[ModelInfo, str | None, dict[str, Any]]:
    """Parse, convert, check and store (in a worker thread: parsing may take a while).
    Returns the stored model, its delete token (None if stored before) and the account of
    the file's tensors."""
    limits = FileLimits(max_elements=max(settings.max_parameters * 4, 1 << 20),
                        max_unpacked_bytes=settings.max_upload_bytes * 4)  # fmt: skip
    vocab = fields["vocab"]
    size = None if vocab is None else len(vocab)
    is_onnx = onnx_upload(filename, fields)  # the layout comes from the file
    keras = None
    if not is_onnx and is_keras_upload(filename, data):
        keras = read_keras_upload(filename, data, limits)
    convert = convert_keras if fields["layout"] == "keras" else convert_torch
    try:
        if is_onnx:
            converted = read_onnx_upload(fields["cell"], data, limits)
        elif keras is not None:  # its config (or layout) says which layer is what
            fields["layout"] = "keras"
            converted = convert_keras_file(
                fields["cell"], keras.config, keras.tensors, keras.attrs, size, keras.legacy
            )
        else:
            converted = convert(fields["cell"], read_tensors(filename, data, limits), prefix, size)
    except EngineError as exc:  # the file's fault, unless the prefix chose nothing there
        raise ApiError(422, "invalid_input", str(exc), exc.field or "file") from exc
    params, readout = converted.params, converted.readout
    model = model_from_params(
        fields["cell"], params, readout, vocab, settings, upload=True, folded=converted.folded
    )
    count = sum(a.size for a in params.values())
    if readout is not None:
        count += readout.weight.size + readout.bias.size
    check_parameters(settings, "file", count)
    finite = {**params} if readout is None else {**params, "readout.weight": readout.weight,
                                                  "readout.bias": readout.bias}  # fmt: skip
    for tensor, value in finite.items():
        check_weight_values(tensor, value)
    readout_size = None if readout is None else int(readout.weight.shape[0])
    info = {
        **fields,
        "input_size": model.input_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        "num_directions": model.num_directions,
        **({"proj_size": model.proj_size} if model.proj_size else {}),
        "parameters": count,
        "readout_size": readout_size,
        "labels": vocab if vocab is not None and readout_size == len(vocab) else None,
    }
    stored, token = store.add(params, readout, info)
    ignored = [{"name": n, "reason": why, "code": why.code} for n, why in converted.ignored.items()]
    account = {"used_tensors": converted.used, "ignored_tensors": ignored}
    if converted.roles:  # which Keras layer (or torch role) and direction each tensor came from
        account["tensor_roles"] = [{"name": n, **r} for n, r in converted.roles.items()]
    return stored, token, account


@models_router.post(
    "/models",
    status_code=201,
    response_model=UploadResponse,
    responses={
        200: {"model": UploadResponse, "description": "The same model was stored already."},
        **errors(400, 413, 415, 422, 503, 507),
    },
)
async def upload_model(
    request: Request,
    file: Annotated[
        UploadFile,
        File(
            description=".safetensors, .npz, .json weights, a Keras .keras / .weights.h5 / .h5 "
            "or an .onnx model"
        ),
    ],
    cell: Annotated[CellName, Form(examples=["lstm"])],
    layout: Annotated[Literal["torch", "keras", "onnx"], Form(examples=["torch"])] = "torch",
    name: Annotated[
        str | None, Form(description="Shown in lists; default: file name", examples=["chars"])
    ] = None,
    vocab: Annotated[
        str | None,
        Form(description="JSON list of tokens, one per input", examples=['["a", "b", " "]']),
    ] = None,
    prefix: Annotated[
        str | None, Form(description="Module prefix of the RNN", examples=["lstm."])
    ] = None,
) -> JSONResponse:
    """Upload weights under PyTorch state_dict names (layout torch) or Keras names, or an
    .onnx model with LSTM/GRU/RNN ops (layout onnx, taken from the file; docs/onnx.md).

    A readout (`<name>.weight` V x H and its bias) is taken when nothing else in the file can
    stand between the RNN and it; an embedding (V x D, no bias) is folded into the first layer
    when `vocab` lists its V tokens. The answer lists the tensors used and those left out, each
    with its reason. The id is a hash of the content: the same model twice gives the same id.
    Keep the `delete_token`.
    """
    settings = settings_of(request.app.state)
    limit = settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(
            413,
            "limit_exceeded",
            f"file is more than {limit} bytes, the limit is {limit} (max_upload_bytes)",
            "file",
        )
    filename = file.filename or "upload"
    fields = {
        "cell": cell,
        "layout": layout,
        "name": _name(settings, name, filename),
        "vocab": _vocab(settings, vocab),
    }
    store = store_of(request.app.state)
    info, token, account = await run_in_threadpool(
        _store_upload, settings, store, filename, data, fields, prefix or None
    )
    body = {**_public(info), "delete_token": token, "created_now": token is not None, **account}
    return JSONResponse(body, status_code=201 if token is not None else 200)


@models_router.delete(
    "/models/{model_id}",
    status_code=204,
    response_class=Response,
    responses=errors(403, 404),
)
async def delete_model(
    model_id: ModelId,
    request: Request,
    x_delete_token: Annotated[
        str | None, Header(description="The delete_token the upload answered with.")
    ] = None,
) -> Response:
    """Delete an uploaded model; needs its delete token. Built-in models cannot be deleted."""
    await run_in_threadpool(store_of(request.app.state).delete, model_id, x_delete_token)
    return Response(status_code=204)
