"""What each cell is: its traced fields, its clampable gates and its weight blocks.

LSTM gate order is PyTorch's i, f, g, o; `g` is the candidate cell state the article writes as
C-tilde. GRU order is r, z, n. The coupled LSTM has rows f, g, o only (its i is 1 - f).
"""

from app.engine.errors import EngineError

CELLS: tuple[str, ...] = ("lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_peephole", "lstm_coupled")

_LSTM_FIELDS = ("i", "f", "g", "o", "c", "tanh_c", "h", "f_c_prev", "i_g")

TRACE_FIELDS: dict[str, tuple[str, ...]] = {
    "lstm": _LSTM_FIELDS,
    "lstm_peephole": _LSTM_FIELDS,
    "lstm_coupled": ("f", "i", "g", "o", "c", "tanh_c", "h", "f_c_prev", "i_g"),
    "gru": ("r", "z", "n", "h"),
    "rnn_tanh": ("pre", "h"),
    "rnn_relu": ("pre", "h"),
}

# The extra field of an lstm layer with a projection (torch's proj_size): o * tanh(c) before
# W_hr; such a layer's h is W_hr h_unprojected (proj_size units).
PROJECTED_FIELD = "h_unprojected"


def trace_fields(cell: str, projected: bool = False) -> tuple[str, ...]:
    """TRACE_FIELDS[cell], with h_unprojected last for an lstm with a projection."""
    return TRACE_FIELDS[cell] + ((PROJECTED_FIELD,) if projected else ())


GATES: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "g", "o"),
    "lstm_peephole": ("i", "f", "g", "o"),
    "lstm_coupled": ("f", "i", "g", "o"),
    "gru": ("r", "z", "n"),
    "rnn_tanh": (),
    "rnn_relu": (),
}

# Gates whose value lies in [0, 1] (sigmoids); the others (g, n) lie in [-1, 1].
SIGMOID_GATES = frozenset({"i", "f", "o", "r", "z"})

# Number of stacked H-row blocks in weight_ih / weight_hh.
GATE_ROWS: dict[str, int] = {
    "lstm": 4,
    "lstm_peephole": 4,
    "lstm_coupled": 3,
    "gru": 3,
    "rnn_tanh": 1,
    "rnn_relu": 1,
}

PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")


def has_cell_state(cell: str) -> bool:
    """True for the LSTM family, which carries c besides h."""
    return cell.startswith("lstm")


def check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise EngineError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
