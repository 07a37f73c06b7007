"""The .onnx branch of an upload: the layout is the file's, the cell must match its ops."""

from typing import Any

from app.api.errors import ApiError
from app.engine.layouts_account import Converted
from app.engine.layouts_onnx import convert_onnx
from app.store import FileLimits
from app.store.onnx_reader import read_onnx


def onnx_upload(filename: str, fields: dict[str, Any]) -> bool:
    """True for an .onnx file; a layout that contradicts the file type is a 422."""
    is_onnx = filename.lower().endswith(".onnx")
    if is_onnx and fields["layout"] == "keras":
        raise ApiError(
            422,
            "invalid_input",
            "an .onnx file has the layout onnx, not keras; leave layout out or send layout=onnx",
            "layout",
        )
    if not is_onnx and fields["layout"] == "onnx":
        raise ApiError(422, "invalid_input", "layout onnx needs an .onnx file", "layout")
    if is_onnx:
        fields["layout"] = "onnx"
    return is_onnx


def read_onnx_upload(cell: str, data: bytes, limits: FileLimits) -> Converted:
    model = read_onnx(data, limits.max_tensors, limits.max_elements)
    found, converted = convert_onnx(model.ops, model.readout)
    if found != cell:
        raise ApiError(
            422,
            "invalid_input",
            f"the .onnx file holds a {found} model, but cell is {cell}",
            "cell",
        )
    return converted
