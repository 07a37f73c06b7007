"""Response shapes, for the OpenAPI document (handlers encode with orjson, not through these)."""

from typing import Any, Literal

from pydantic import BaseModel, Field

Rows = list[list[float]]


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error: a short code, a message naming the field, value and limit, and details."""

    error: str = Field(examples=["limit_exceeded"])
    message: str = Field(examples=["inputs has 5000 steps, the limit is 4096"])
    details: list[ErrorDetail] = Field(default_factory=list)


_ERRORS = {
    400: "The body is not readable (not UTF-8, not JSON, not a form).",
    403: "Not allowed: a wrong or missing delete token, or a built-in model.",
    404: "No such model.",
    413: "Too large: body, file, sequence or compute budget over a limit from the settings.",
    415: "A file type that is never opened (pickles, HDF5) or not supported.",
    422: "Invalid: wrong types, shapes that do not fit the model, values out of range.",
    503: "All compute slots are busy (retry after the Retry-After seconds), or the model store "
    "cannot be written.",
    504: "The request took longer than the time limit.",
    507: "The model store is full (quota or disk).",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries documenting these error statuses with ErrorBody."""
    return {code: {"model": ErrorBody, "description": _ERRORS[code]} for code in codes}


class Readout(BaseModel):
    logits: Rows = Field(description="[step][class]")
    probs: Rows = Field(description="[step][class], softmax of logits")


class TraceResponse(BaseModel):
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    dtype: Literal["float32", "float64"]
    steps: int
    tokens: list[str] | None = Field(default=None, description="The text's tokens, one a step.")
    num_directions: int = Field(default=1, description="2 for a bidirectional model.")
    proj_size: int | None = Field(
        default=None,
        description="Only for an LSTM with a projection (torch's proj_size P): h and h_n have "
        "P units, h = W_hr h_unprojected, and each layer also holds `h_unprojected`, "
        "o * tanh(c) before the projection ([step][unit], hidden_size units). Absent otherwise.",
    )
    layers: list[dict[str, Rows]] = Field(
        description="Per layer, field (i, f, g, o, c, h, ...) -> [step][unit]. In a "
        "bidirectional model each layer also holds `backward`: the same fields for the "
        "backward direction, indexed in forward time (step t is input t), see "
        "docs/bidirectional.md. With a projection (proj_size) also `h_unprojected`."
    )
    h_n: Rows = Field(description="Final hidden state, [layer * num_directions + direction][unit].")
    c_n: Rows | None = Field(default=None, description="Final cell state (LSTMs).")
    readout: Readout | None = None


class GradientLayer(BaseModel):
    dh_norm: list[float] = Field(description="|dL/dh_t| per step.")
    dc_norm: list[float] | None = Field(description="|dL/dc_t| per step (LSTMs).")
    dh: Rows = Field(description="dL/dh_t, [step][unit].")
    dc: Rows | None = Field(description="dL/dc_t, [step][unit] (LSTMs).")


class GradientsResponse(BaseModel):
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    steps: int
    loss: float
    tokens: list[str] | None = None
    layers: list[GradientLayer] = Field(description="Gradient flow per layer, bottom first.")
    dx_norm: list[float] = Field(description="|dL/dx_t| per step.")
    param_norms: dict[str, float] = Field(
        description="|dL/dW| for every weight tensor, readout.weight and readout.bias included."
    )


class ModelSummary(BaseModel):
    id: str
    name: str
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    source: Literal["builtin", "upload"]
    parameters: int
    vocab: list[str] | None = None
    readout_size: int | None = None
    labels: list[str] | None = None
    task: str | None = None
    description: dict[str, str] | None = Field(default=None, examples=[{"en": "...", "zh": "..."}])
    metrics: dict[str, Any] | None = None
    example: Any = None
    layout: str
    num_directions: int = 1
    proj_size: int = Field(
        default=0, description="P of an LSTM with a projection (torch's proj_size), else 0."
    )
    created: str | None = None
    bytes: int

    model_config = {"extra": "allow"}


class ModelList(BaseModel):
    models: list[ModelSummary]


class IgnoredTensor(BaseModel):
    name: str
    reason: str = Field(examples=["not part of the recurrent module, its embedding or its readout"])
    code: Literal[
        "other_rnn", "possible_readout", "possible_embedding", "several_embeddings",
        "before_rnn", "no_bias", "unrelated",
    ] = Field(description="The kind of reason, for translations.")  # fmt: skip


class TensorRole(BaseModel):
    name: str = Field(examples=["layers/bidirectional/backward_layer/cell/vars/0"])
    keras_layer: str | None = Field(
        default=None, description="The Keras layer it belongs to (null for torch files)."
    )
    role: str | None = Field(
        default=None,
        description="Torch files with a projection: what the tensor is, e.g. projection "
        "for weight_hr_l{k} (h = W_hr (o * tanh(c))), recurrent for weight_hh_l{k}.",
        examples=["projection"],
    )
    layer: int | None = Field(description="The engine's layer k (null: embedding, readout).")
    direction: Literal["forward", "backward"] | None = None
    became: list[str] = Field(examples=[["weight_ih_l0_reverse"]])


class UploadResponse(ModelSummary):
    delete_token: str | None = Field(
        description="Needed to delete the model (X-Delete-Token header); shown once. null when "
        "the same model was uploaded before: the first upload's token stays valid."
    )
    created_now: bool = Field(description="false when the same model was stored already.")
    used_tensors: list[str] = Field(
        description="The file's tensors that became the model: the recurrent module, an "
        "embedding folded into weight_ih_l0 (when vocab names its rows), the readout."
    )
    ignored_tensors: list[IgnoredTensor] = Field(
        description="The file's other tensors, each with the reason it was left out."
    )
    tensor_roles: list[TensorRole] | None = Field(
        default=None,
        description="Keras 3 files: each tensor taken, its Keras layer, direction and the "
        "engine tensors it became. Torch files of an LSTM with proj_size: each recurrent "
        "tensor, its layer, direction, role (weight_hr: projection) and engine name.",
    )


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class KernelInfo(BaseModel):
    """The engine's loop: the setting, numba's version (null: not installed, NumPy only),
    whether its kernel is compiled in this worker yet, and why it failed to load, if it did."""

    setting: Literal["auto", "numpy", "numba"]
    numba: str | None
    warm: bool
    failure: str | None


class Ready(BaseModel):
    status: Literal["ready"]
    version: str
    builtin: int
    uploaded: int
    bytes: int
    kernel: KernelInfo
