"""Read an ONNX model as protobuf into plain arrays and a small description; nothing is run.

The graph must be one chain: the graph input, shape-only ops (Transpose, Reshape, Squeeze,
Unsqueeze, Identity), LSTM / GRU / RNN ops one after another, and optionally a readout
(MatMul + Add, or Gemm) reading the last recurrent op. Any other op on that path is refused
with its node's name. Initializers are checked (dtype, dims, size, no external data) before
NumPy sees their bytes.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.store.errors import FileTooLarge, InvalidFile

RECURRENT = ("LSTM", "GRU", "RNN")
SHAPE_OPS = frozenset({"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity"})
# side computations torch emits for shapes and zero initial states; never on the data path
SIDE_OPS = frozenset(
    {
        "Constant",
        "Shape",
        "Gather",
        "Concat",
        "Expand",
        "Unsqueeze",
        "Slice",
        "Cast",
        "ConstantOfShape",
        "Squeeze",
        "Reshape",
    }
)
MAX_NODES = 10_000
_DTYPES = {1: np.float32, 10: np.float16, 11: np.float64}
_INT_DTYPES = {6: np.int32, 7: np.int64}  # shapes and axes that Reshape/Squeeze read
_INPUTS = {
    "LSTM": ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
    "GRU": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "RNN": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}


@dataclass
class RecurrentOp:
    """One LSTM/GRU/RNN node: its attributes (plain values) and its weight inputs
    (ONNX input name W/R/B/P/initial_h/initial_c -> (initializer name, array))."""

    node: str
    op_type: str
    attrs: dict[str, Any]
    tensors: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class OnnxModel:
    ops: list[RecurrentOp]
    readout: tuple[np.ndarray, np.ndarray, list[str]] | None  # weight (V, in), bias, names


def read_onnx(data: bytes, max_tensors: int, max_elements: int) -> OnnxModel:
    """Parse and check; InvalidFile (422) or FileTooLarge (413) naming the node or tensor."""
    import onnx  # only uploads of .onnx files need it

    try:
        model = onnx.ModelProto.FromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise InvalidFile(f"the .onnx file is not an ONNX protobuf: {exc}") from exc
    graph = model.graph
    if len(graph.node) > MAX_NODES:
        raise FileTooLarge(f"the graph has {len(graph.node)} nodes, the limit is {MAX_NODES}")
    if len(graph.initializer) > max_tensors:
        raise FileTooLarge(
            f"the graph has {len(graph.initializer)} initializers, the limit is {max_tensors}"
        )
    if not any(node.op_type in RECURRENT for node in graph.node):
        raise InvalidFile(
            "the graph holds no LSTM, GRU or RNN op: its recurrence is unrolled into "
            "MatMul/Sigmoid/Tanh steps (torch's default dynamo exporter does this for nn.RNN, "
            "Keras's model.export(format='onnx') for every layer). Export with "
            "torch.onnx.export(model, (x,), path, dynamo=False), or Keras with tf2onnx"
        )
    inits = _initializers(graph, max_elements)
    return _chain(graph, inits)


def _initializers(graph: Any, max_elements: int) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    total = 0
    for t in graph.initializer:
        name = t.name or "(unnamed)"
        if t.data_location == 1 or len(t.external_data):
            raise InvalidFile(
                f"initializer {name} keeps its data in an external file; Gatescope reads one "
                "file only: save with onnx.save(model, path, save_as_external_data=False)"
            )
        if t.data_type not in _DTYPES and t.data_type not in _INT_DTYPES:
            raise InvalidFile(
                f"initializer {name} has ONNX dtype {t.data_type}; only float16/32/64 "
                "weights and int32/64 shapes are read"
            )
        dims = tuple(int(d) for d in t.dims)
        if any(d < 0 for d in dims):
            raise InvalidFile(f"initializer {name} has negative dims {dims}")
        count = math.prod(dims)
        total += count
        if count > max_elements or total > max_elements:
            raise FileTooLarge(
                f"initializer {name} has dims {dims}; the file may hold at most "
                f"{max_elements} numbers"
            )
        dtype = np.dtype({**_DTYPES, **_INT_DTYPES}[t.data_type]).newbyteorder("<")
        if t.raw_data:
            if len(t.raw_data) != count * dtype.itemsize:
                raise InvalidFile(
                    f"initializer {name}: dims {dims} need "
                    f"{count * dtype.itemsize} bytes, it holds {len(t.raw_data)}"
                )
            arr = np.frombuffer(t.raw_data, dtype).reshape(dims)
        else:
            values = t.double_data if t.data_type == 11 else t.float_data
            if t.data_type in _INT_DTYPES:
                values = t.int64_data if t.data_type == 7 else t.int32_data
            if t.data_type == 10:
                values = np.array(t.int32_data, np.uint16).view(np.float16)
            if len(values) != count:
                raise InvalidFile(
                    f"initializer {name}: dims {dims} need {count} numbers, it holds {len(values)}"
                )
            arr = np.array(values, dtype).reshape(dims)
        arrays[name] = arr.astype(np.float64) if t.data_type in _DTYPES else arr.copy()
    return arrays


def _attrs(node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type == 1:
            out[a.name] = float(a.f)
        elif a.type == 2:
            out[a.name] = int(a.i)
        elif a.type == 3:
            out[a.name] = a.s.decode("utf-8", "replace")
        elif a.type == 6:
            out[a.name] = [float(v) for v in a.floats]
        elif a.type == 7:
            out[a.name] = [int(v) for v in a.ints]
        elif a.type == 8:
            out[a.name] = [s.decode("utf-8", "replace") for s in a.strings]
        else:
            out[a.name] = f"<attribute type {a.type}>"
    return out


def _label(node: Any) -> str:
    return f"node {node.name or '(unnamed)'!r} ({node.op_type})"


def _chain(graph: Any, inits: dict[str, np.ndarray]) -> OnnxModel:
    producer: dict[str, int] = {}
    for k, node in enumerate(graph.node):
        for inp in node.input:
            if inp and inp not in inits and inp not in producer and not _graph_input(graph, inp):
                raise InvalidFile(
                    f"{_label(node)} reads {inp!r}, which no earlier node makes "
                    "(a cycle, or the nodes are not in order)"
                )
        for out in node.output:
            producer[out] = k
    if len(graph.output) != 1:
        raise InvalidFile(f"the graph has {len(graph.output)} outputs; expected one")
    nodes = graph.node
    ops: list[RecurrentOp] = []
    readout = None
    name = graph.output[0].name
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    names: list[str] = []
    while name in producer:  # walk back from the output to the graph input
        node = nodes[producer[name]]
        attrs = _attrs(node)
        if not node.input or not node.input[0]:
            raise InvalidFile(f"{_label(node)} stands on the path but reads no input")
        if node.op_type in RECURRENT:
            if name != node.output[0]:
                raise InvalidFile(
                    f"{_label(node)}: the model reads its output {name!r}; only "
                    "Y (the output at every step) is read"
                )
            ops.append(_recurrent(node, attrs, inits, nodes, producer))
        elif node.op_type in SHAPE_OPS:
            if (
                node.op_type == "Transpose"
                and ops
                and attrs.get("perm") not in ([0, 2, 1, 3], [2, 0, 1, 3], [1, 0, 2])
            ):
                raise InvalidFile(f"{_label(node)} permutes axes {attrs.get('perm')}")
        elif (
            node.op_type in ("Add", "MatMul", "Gemm")
            and not ops
            and (weight is None or bias is None)
        ):
            consts = [i for i in node.input if i in inits]
            data = [i for i in node.input if i and i not in inits]
            if len(data) != 1 or not consts:
                raise InvalidFile(f"{_label(node)} does not read one tensor and weights")
            if node.op_type == "Add" and bias is None and weight is None:
                bias, names = inits[consts[0]], [*names, consts[0]]
            elif node.op_type == "MatMul" and weight is None and node.input[1] in inits:
                weight, names = inits[node.input[1]].T, [node.input[1], *names]
            elif node.op_type == "Gemm" and weight is None and bias is None:
                weight, bias, names = _gemm(node, attrs, inits)
            else:
                raise InvalidFile(f"{_label(node)} stands where the readout is read")
            name = data[0]
            continue
        else:
            raise InvalidFile(
                f"{_label(node)} stands on the path from the input to the output; "
                "only LSTM, GRU, RNN, shape ops and a MatMul/Gemm readout are read"
            )
        name = node.input[0]
    if not _graph_input(graph, name):
        raise InvalidFile(f"the path from the output ends at {name!r}, not at a graph input")
    if not ops:
        raise InvalidFile("the graph has no LSTM, GRU or RNN node on its path")
    if weight is not None or bias is not None:
        if weight is None or bias is None or weight.ndim != 2 or bias.shape != weight.shape[:1]:
            raise InvalidFile(
                f"the readout ({', '.join(names)}) is not a weight and a bias of matching sizes"
            )
        readout = (weight, bias, names)
    return OnnxModel(ops[::-1], readout)


def _graph_input(graph: Any, name: str) -> bool:
    return any(i.name == name for i in graph.input)


def _gemm(
    node: Any, attrs: dict[str, Any], inits: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA"):
        raise InvalidFile(f"{_label(node)}: only alpha=1, beta=1, transA=0 are read")
    if len(node.input) < 3 or node.input[1] not in inits or node.input[2] not in inits:
        raise InvalidFile(f"{_label(node)}: B and C must be initializers")
    b = inits[node.input[1]]
    return (b if attrs.get("transB") else b.T), inits[node.input[2]], list(node.input[1:3])


def _recurrent(
    node: Any,
    attrs: dict[str, Any],
    inits: dict[str, np.ndarray],
    nodes: Any,
    producer: dict[str, int],
) -> RecurrentOp:
    op = RecurrentOp(node.name or "(unnamed)", node.op_type, attrs)
    for slot, inp in zip(_INPUTS[node.op_type][1:], node.input[1:], strict=False):
        if not inp:
            continue
        if inp in inits:
            op.tensors[slot] = (inp, inits[inp])
        elif slot in ("initial_h", "initial_c") and _zeros(inp, nodes, producer, inits):
            continue  # torch's zero initial state, computed from the input's shape
        else:
            raise InvalidFile(
                f"{_label(node)}: its input {slot} ({inp!r}) is computed in the "
                "graph; Gatescope reads weights and states only as initializers"
            )
    return op


def _zeros(name: str, nodes: Any, producer: dict[str, int], inits: dict[str, np.ndarray]) -> bool:
    """An Expand of a zero Constant (torch's h0 = zeros(num_directions, batch, H))."""
    if name not in producer:
        return False
    node = nodes[producer[name]]
    if node.op_type == "ConstantOfShape":
        attrs = [a for a in node.attribute if a.name == "value"]
        return not attrs or not np.any(_tensor_value(attrs[0].t))
    if node.op_type != "Expand" or node.input[0] not in producer:
        return False
    const = nodes[producer[node.input[0]]]
    if const.op_type != "Constant":
        return False
    values = [a for a in const.attribute if a.name == "value"]
    return bool(values) and not np.any(_tensor_value(values[0].t))


def _tensor_value(t: Any) -> np.ndarray:
    if t.data_type not in _DTYPES or math.prod(t.dims) > 1 << 16:
        return np.ones(1)  # not a small float constant: not read as zeros
    dtype = np.dtype(_DTYPES[t.data_type]).newbyteorder("<")
    if t.raw_data:
        return np.frombuffer(t.raw_data, dtype)
    return np.array(t.double_data if t.data_type == 11 else t.float_data, dtype)
