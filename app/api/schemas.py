"""Request and response shapes of the REST API, in one place."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

CellName = Literal["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_peephole", "lstm_coupled"]


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
Vector = list[Number]
Matrix = list[Vector]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoredModelRef(_Strict):
    """A built-in or uploaded model, by id."""

    id: Annotated[str, Field(min_length=1, max_length=128)]


class RandomModelRef(_Strict):
    """A model made on the fly: random weights from a seed, as PyTorch initialises them."""

    cell: CellName = "lstm"
    input_size: Annotated[WholeNumber, Field(ge=1)]
    hidden_size: Annotated[WholeNumber, Field(ge=1)]
    num_layers: Annotated[WholeNumber, Field(ge=1)] = 1
    seed: Annotated[WholeNumber, Field(ge=0, le=2**32 - 1)] = 0


ModelRef = StoredModelRef | RandomModelRef


class TraceRequest(_Strict):
    model: ModelRef
    inputs: Annotated[Matrix, Field(min_length=1)] | None = Field(
        default=None, description="One vector of input_size numbers per step: [step][feature]."
    )
    h0: Matrix | None = Field(default=None, description="Initial hidden state, [layer][unit].")
    c0: Matrix | None = Field(
        default=None, description="Initial cell state (LSTMs), [layer][unit]."
    )
    dtype: Literal["float32", "float64"] = Field(
        default="float64",
        description="Compute precision. float32 output is rounded to 5 decimals for display.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": {"cell": "lstm", "input_size": 2, "hidden_size": 4, "seed": 0},
                    "inputs": [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0]],
                    "dtype": "float64",
                }
            ]
        },
    )


class Health(BaseModel):
    status: Literal["ok"]
    version: str
