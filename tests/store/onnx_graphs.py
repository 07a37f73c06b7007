"""Hand-built ONNX graphs (onnx.helper) for the reader's tests: honest ones and hostile ones."""

from typing import Any

import numpy as np

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def onnx_or_skip() -> Any:
    from tests.conftest import skip_or_fail

    try:
        import onnx
    except ImportError:
        skip_or_fail("onnx is not installed (pip install -e .)")
    return onnx


def weights(
    op: str, d: int, h: int, dirs: int = 1, seed: int = 0, peepholes: bool = False
) -> dict[str, np.ndarray]:
    """ONNX-shaped float32 W, R, B (and P) with small random values."""
    rng = np.random.default_rng(seed)
    g = GATES[op]
    out = {
        "W": rng.uniform(-0.6, 0.6, (dirs, g * h, d)),
        "R": rng.uniform(-0.6, 0.6, (dirs, g * h, h)),
        "B": rng.uniform(-0.3, 0.3, (dirs, 2 * g * h)),
    }
    if peepholes:
        out["P"] = rng.uniform(-0.5, 0.5, (dirs, 3 * h))
    return {k: v.astype(np.float32) for k, v in out.items()}


def recurrent_model(
    op: str = "LSTM",
    d: int = 2,
    h: int = 3,
    direction: str = "forward",
    layers: int = 1,
    readout: int | None = None,
    attrs: dict[str, Any] | None = None,
    peepholes: bool = False,
    time_major: bool = True,
) -> Any:
    """X (T, 1, d) -> `layers` recurrent ops joined as torch joins them -> [MatMul + Add].

    time_major=False gives what tf2onnx writes for Keras: X (1, T, d), Transpose [1, 0, 2]
    before the op, Squeeze then Transpose [1, 0, 2] after it.
    """
    onnx = onnx_or_skip()
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    dirs = 2 if direction == "bidirectional" else 1
    nodes, inits = [], []
    x = "X"
    if not time_major:
        nodes.append(helper.make_node("Transpose", ["X"], ["x_tm"], perm=[1, 0, 2], name="to_tm"))
        x = "x_tm"
    width = d
    for k in range(layers):
        w = weights(op, width, h, dirs, seed=k, peepholes=peepholes)
        names = [f"W{k}", f"R{k}", f"B{k}"]
        inputs = [x, *names]
        if peepholes:
            inputs += ["", "", "", f"P{k}"]
            names.append(f"P{k}")
        for name, key in zip(names, "WRBP", strict=False):
            inits.append(numpy_helper.from_array(w[key], name))
        extra = {"linear_before_reset": 1} if op == "GRU" else {}
        nodes.append(
            helper.make_node(
                op,
                inputs,
                [f"Y{k}"],
                name=f"{op.lower()}{k}",
                hidden_size=h,
                direction=direction,
                **{**extra, **(attrs or {})},
            )
        )
        if dirs == 2:
            nodes.append(helper.make_node("Transpose", [f"Y{k}"], [f"T{k}"], perm=[0, 2, 1, 3]))
            inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), f"shape{k}"))
            nodes.append(helper.make_node("Reshape", [f"T{k}", f"shape{k}"], [f"S{k}"]))
        else:
            inits.append(numpy_helper.from_array(np.array([1], np.int64), f"axes{k}"))
            nodes.append(helper.make_node("Squeeze", [f"Y{k}", f"axes{k}"], [f"S{k}"]))
        x, width = f"S{k}", h * dirs
    if not time_major:
        nodes.append(helper.make_node("Transpose", [x], ["x_bm"], perm=[1, 0, 2], name="to_bm"))
        x = "x_bm"
    if readout is not None:
        rng = np.random.default_rng(9)
        inits.append(
            numpy_helper.from_array(rng.normal(size=(width, readout)).astype(np.float32), "head_w")
        )
        inits.append(numpy_helper.from_array(rng.normal(size=readout).astype(np.float32), "head_b"))
        nodes.append(helper.make_node("MatMul", [x, "head_w"], ["mm"], name="head_matmul"))
        nodes.append(helper.make_node("Add", ["mm", "head_b"], ["out"], name="head_add"))
        x = "out"
    shape = ["T", 1, d] if time_major else [1, "T", d]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def serialized(model: Any) -> bytes:
    return bytes(model.SerializeToString())
