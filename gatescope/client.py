"""gatescope.Client: the same Trace from a running Gatescope server (POST /api/v1/trace).

Inputs go as a safetensors body and the answer comes back as safetensors (format
"safetensors"): every number as computed, float64, no JSON rounding. A stored model is named
by its id; weights may also be sent with the request (PyTorch or Keras names).
"""

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from gatescope.adapters import as_array, framework
from gatescope.result import Trace, from_safetensors


class ServerError(RuntimeError):
    """The server refused the request: its status, error code, message and the field."""

    def __init__(self, status: int, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        self.status = status
        self.code = str(body.get("error", "http_error"))
        self.field = next((d.get("field") for d in body.get("details", []) if "field" in d), None)
        text = str(body.get("message", f"HTTP {status}"))
        super().__init__(f"{status} {self.code}: {text}")


def model_ref(model: Any, cell: str | None = None, layout: str = "torch") -> dict[str, Any]:
    """A model reference for the API: a stored model's id (str), a reference as a dict
    ({"id"} or {"cell", "weights"} or a random model), a torch module (its state_dict sent
    inline), a Keras 3 model or ONNX ModelProto (read here as gatescope.trace reads it, sent
    as PyTorch-named weights), or a mapping of tensor name -> array (PyTorch names, or Keras
    with layout)."""
    if isinstance(model, str):
        return {"id": model}
    if isinstance(model, Mapping) and ("id" in model or "weights" in model or "seed" in model):
        return dict(model)
    kind = framework(model)
    if kind in ("keras", "onnx"):
        return _converted_ref(model, kind)
    if kind == "torch":
        from gatescope.adapters import _torch_cell, _torch_rnns

        rnns = _torch_rnns(model)
        cell = cell or (_torch_cell(rnns[0][1]) if len(rnns) == 1 else None)
        model = model.state_dict()
    if not isinstance(model, Mapping):
        raise TypeError(f"a model id, reference dict, torch module or weights; got {type(model)}")
    if cell is None:
        raise ValueError("weights need their cell: lstm, gru, rnn_tanh, rnn_relu ...")
    weights = {str(k): as_array(v).astype(np.float64).tolist() for k, v in model.items()}
    return {"cell": cell, "weights": weights, "layout": layout}


def _converted_ref(model: Any, kind: str) -> dict[str, Any]:
    from gatescope.adapters import from_keras, from_onnx

    found = from_onnx(model) if kind == "onnx" else from_keras(model, None, False)
    tensors = {f"rnn.{k}": v for k, v in found.converted.params.items()}
    if found.converted.readout is not None:
        tensors["head.weight"] = found.converted.readout.weight
        tensors["head.bias"] = found.converted.readout.bias
    weights = {k: np.asarray(v, dtype=np.float64).tolist() for k, v in tensors.items()}
    return {"cell": found.cell, "weights": weights, "layout": "torch", "prefix": "rnn"}


class Client:
    """A running Gatescope server: ``Client("http://localhost:8000").trace("demo", x)``."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 60.0) -> None:
        import httpx

        headers = {"X-Gatescope-Key": api_key} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def models(self) -> list[dict[str, Any]]:
        """The server's models (GET /api/v1/models)."""
        body = self._check(self._http.get("/api/v1/models")).json()
        return list(body["models"] if isinstance(body, dict) else body)

    def trace(
        self,
        model: Any,
        x: Any = None,
        *,
        text: str | None = None,
        cell: str | None = None,
        layout: str = "torch",
        h0: Any = None,
        c0: Any = None,
        clamp: list[dict[str, Any]] | None = None,
        fields: list[str] | None = None,
        dtype: str = "float64",
        title: str | None = None,
    ) -> Trace:
        """Trace `x` (steps, D) floats (or `text`, for a model with a vocabulary) through
        `model` on the server (see model_ref for what a model may be). Same Trace as
        gatescope.trace; the server's limits apply (an over-limit request raises
        ServerError with its 413 and the limit's name)."""
        request: dict[str, Any] = {"model": model_ref(model, cell, layout), "dtype": dtype,
                                   "format": "safetensors"}  # fmt: skip
        for key, value in (("text", text), ("clamp", clamp), ("fields", fields)):
            if value is not None:
                request[key] = value
        tensors: dict[str, np.ndarray] = {}
        for key, value in (("inputs", x), ("h0", h0), ("c0", c0)):
            if value is not None:
                tensors[key] = np.ascontiguousarray(as_array(value), dtype=np.float64)
        inputs = tensors.get("inputs")
        if "weights" in request["model"] or not tensors:  # weights ride in JSON, not a header
            request |= {k: v.tolist() for k, v in tensors.items()}
            res = self._http.post("/api/v1/trace", json=request)
        else:
            from safetensors.numpy import save

            blob = save(tensors, metadata={"request": json.dumps(request)})
            headers = {"Content-Type": "application/vnd.safetensors"}
            res = self._http.post("/api/v1/trace", content=blob, headers=headers)
        out = from_safetensors(self._check(res).content, inputs)
        out.title = title
        return out

    @staticmethod
    def _check(res: Any) -> Any:
        if res.status_code >= 400:
            try:
                body = res.json()
            except ValueError:
                body = {"message": res.text[:200]}
            raise ServerError(res.status_code, body)
        return res
