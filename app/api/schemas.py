"""Request shapes of the REST API and the WebSocket, in one place (responses: responses.py).

Numbers are strict: booleans, strings, null, NaN and infinities are refused; a whole number
may be written 3 or 3.0 (JSON Schema counts both as integers). Sizes are checked against the
settings at run time (app/api/limits.py); the schema only caps indices (steps, units, layers,
classes) at 2**31 - 1, which no model reaches, so that no index overflows NumPy's integers.
"""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

CellName = Literal["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_peephole", "lstm_coupled"]
Dtype = Literal["float32", "float64"]


def _whole_number(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer; booleans and strings are not numbers here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Count = Annotated[WholeNumber, Field(ge=1)]
MAX_INDEX = 2**31 - 1
Index = Annotated[WholeNumber, Field(ge=0, le=MAX_INDEX)]
Vector = list[Number]
Matrix = list[Vector]
Token = Annotated[str, Field(min_length=1, max_length=64)]
Vocab = Annotated[list[Token], Field(min_length=1, description="Tokens; input k is token k.")]
TensorName = Annotated[str, Field(min_length=1, max_length=256)]
Tensor = Vector | Matrix


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoredModelRef(_Strict):
    """A built-in or uploaded model, by id."""

    id: Annotated[str, Field(min_length=1, max_length=128)]


class RandomModelRef(_Strict):
    """A model made on the fly: random weights from a seed, as PyTorch initialises them."""

    cell: CellName = "lstm"
    input_size: Count
    hidden_size: Count
    num_layers: Count = 1
    bidirectional: bool = Field(default=False, description="Two directions per layer.")
    seed: Annotated[WholeNumber, Field(ge=0, le=2**32 - 1)] = 0
    vocab: Vocab | None = Field(
        default=None, description="Optional tokens for text input (len(vocab) == input_size)."
    )


class InlineModelRef(_Strict):
    """Weights sent with the request, under PyTorch state_dict names or Keras names."""

    cell: CellName = "lstm"
    weights: Annotated[dict[TensorName, Tensor], Field(min_length=1)] = Field(
        description="Tensor name -> nested lists, e.g. weight_ih_l0: [[...] x D] x 4H."
    )
    layout: Literal["torch", "keras"] = "torch"
    prefix: Annotated[str, Field(max_length=128)] | None = None
    vocab: Vocab | None = None
    input_size: Count | None = Field(default=None, description="Checked against the weights.")
    hidden_size: Count | None = Field(default=None, description="Checked against the weights.")
    num_layers: Count | None = Field(default=None, description="Checked against the weights.")
    seed: Annotated[WholeNumber, Field(ge=0, le=2**32 - 1)] | None = Field(
        default=None, description="Ignored (weights are given)."
    )


def _ref_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "stored" if "id" in value else "inline" if "weights" in value else "random"
    if isinstance(value, BaseModel):
        return {StoredModelRef: "stored", InlineModelRef: "inline"}.get(type(value), "random")
    return "random"


ModelRef = Annotated[
    Annotated[StoredModelRef, Tag("stored")]
    | Annotated[RandomModelRef, Tag("random")]
    | Annotated[InlineModelRef, Tag("inline")],
    Discriminator(_ref_kind),
]
REF_TAGS = frozenset({"stored", "random", "inline"})


class ClampSpec(_Strict):
    """Force one gate of some units at some steps to a value (an intervention)."""

    field: Annotated[str, Field(min_length=1, max_length=16)] = Field(
        description="A gate of the cell: i, f, g, o (LSTMs) or r, z, n (GRU)."
    )
    value: Number = Field(description="0 to 1 for sigmoid gates, -1 to 1 for g and n.")
    units: list[Index] | None = Field(default=None, description="Units; all when omitted.")
    steps: list[Index] | None = Field(default=None, description="Steps; all when omitted.")
    layer: Index = 0
    direction: Literal["forward", "backward"] = Field(
        default="forward", description="Which direction of a bidirectional layer."
    )


FieldNames = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=16)]], Field(min_length=1, max_length=16)
]
MODEL_EXAMPLE: dict[str, Any] = {"cell": "lstm", "input_size": 2, "hidden_size": 4, "seed": 0}


class _SequenceRequest(_Strict):
    """A model and a sequence: numbers per step, or text for a model with a vocabulary."""

    model: ModelRef
    inputs: Annotated[Matrix, Field(min_length=1)] | None = Field(
        default=None, description="One vector of input_size numbers per step: [step][feature]."
    )
    text: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="Text for a model with a vocabulary; one token per step."
    )
    h0: Matrix | None = Field(default=None, description="Initial hidden state, [layer][unit].")
    c0: Matrix | None = Field(
        default=None, description="Initial cell state (LSTMs), [layer][unit]."
    )
    clamp: Annotated[list[ClampSpec], Field(max_length=64)] | None = Field(
        default=None, description="Interventions: gates forced to values; the rest follows."
    )

    @model_validator(mode="after")
    def _one_sequence(self) -> "_SequenceRequest":
        if (self.inputs is None) == (self.text is None):
            raise ValueError("give either inputs (one vector per step) or text, not both")
        return self


class TraceRequest(_SequenceRequest):
    dtype: Dtype = Field(
        default="float64",
        description="Compute precision. float32 output is rounded to 5 decimals for display.",
    )
    fields: FieldNames | None = Field(
        default=None, description="Only these fields (default: all of the cell's)."
    )
    format: Literal["json", "safetensors"] = Field(
        default="json",
        description="json: the TraceResponse document. safetensors: the same arrays, unrounded, "
        "as one safetensors file (tensors layers.{k}.{field}, h_n, c_n, readout.logits, "
        "readout.probs; the scalars and tokens in its metadata), for numpy or torch. An LSTM "
        "with a projection (torch's proj_size) adds layers.{k}.h_unprojected and proj_size in "
        "the metadata.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_EXAMPLE,
                    "inputs": [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0]],
                    "dtype": "float64",
                },
                {
                    "model": MODEL_EXAMPLE,
                    "inputs": [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0]],
                    "clamp": [{"field": "f", "value": 1.0, "units": [0, 1], "steps": [1, 2]}],
                    "fields": ["f", "c", "h"],
                    "dtype": "float32",
                },
                {
                    "model": {**MODEL_EXAMPLE, "input_size": 3, "vocab": ["a", "b", " "]},
                    "text": "ab ba",
                },
            ]
        },
    )


class UnitLoss(_Strict):
    """L = h[step][unit] of one layer: how far back can that one value be traced?"""

    kind: Literal["unit"]
    step: Index | None = Field(default=None, description="Default: the last step.")
    layer: Index | None = Field(default=None, description="Default: the top layer.")
    unit: Index = 0


class XentLoss(_Strict):
    """Cross-entropy of the readout against class targets (a model with a readout)."""

    kind: Literal["xent"]
    targets: list[Index | None] = Field(description="One class per step; null: no target.")
    reduction: Literal["mean", "sum"] = "mean"


class MseLoss(_Strict):
    """Mean squared error of the top layer's h (mse_h) or of the readout's logits."""

    kind: Literal["mse_h", "mse_readout"]
    targets: Annotated[Matrix, Field(min_length=1)] = Field(description="[step][unit].")
    reduction: Literal["mean", "sum"] = "mean"


Loss = Annotated[UnitLoss | XentLoss | MseLoss, Field(discriminator="kind")]


class GradientsRequest(_SequenceRequest):
    loss: Loss
    dtype: Dtype = "float64"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": {"cell": "rnn_tanh", "input_size": 2, "hidden_size": 4},
                    "inputs": [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0], [0.0, 0.5]],
                    "loss": {"kind": "unit", "step": 3, "layer": 0, "unit": 0},
                }
            ]
        },
    )


# -- WebSocket /api/v1/step messages ---------------------------------------------------------
class StepOpen(_Strict):
    type: Literal["open"]
    model: ModelRef
    h0: Matrix | None = None
    c0: Matrix | None = None
    dtype: Dtype = "float64"


class StepInput(_Strict):
    type: Literal["step"]
    input: Vector | None = Field(default=None, description="One vector of input_size numbers.")
    token: Token | None = Field(default=None, description="One token of the vocabulary.")

    @model_validator(mode="after")
    def _one_input(self) -> "StepInput":
        if (self.input is None) == (self.token is None):
            raise ValueError("give either input (a vector) or token, not both")
        return self


class StepControl(_Strict):
    type: Literal["reset", "back"]


StepMessage = Annotated[StepOpen | StepInput | StepControl, Field(discriminator="type")]
