"""POST /api/v1/gradients: backpropagation through time, as a gradient-flow trace."""

from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.encoding import OrjsonResponse, check_finite
from app.api.resolve import Model, clamps, matrix, precheck, resolve_model, sequence, states
from app.api.responses import GradientsResponse, errors
from app.api.schemas import GradientsRequest, MseLoss, UnitLoss, XentLoss
from app.engine import Clamp, Loss, backward
from app.engine.backward_common import norms

gradients_router = APIRouter(tags=["gradients"], route_class=OrjsonRoute)
IGNORE = -100  # a step without a target (torch.nn.CrossEntropyLoss's ignore_index)


def engine_loss(spec: UnitLoss | XentLoss | MseLoss, model: Model) -> Loss:
    if isinstance(spec, UnitLoss):
        return Loss(
            "unit",
            step=-1 if spec.step is None else spec.step,
            layer=-1 if spec.layer is None else spec.layer,
            unit=spec.unit,
        )
    if isinstance(spec, XentLoss):
        targets = np.array([IGNORE if t is None else t for t in spec.targets], dtype=np.int64)
        return Loss("xent", targets=targets, reduction=spec.reduction, ignore_index=IGNORE)
    width = (
        model.h_size
    )  # mse_h (h's units); mse_readout: the readout's size (no readout: refused later)
    if spec.kind == "mse_readout":
        width = len(spec.targets[0]) if model.readout is None else model.readout.weight.shape[0]
    return Loss(spec.kind, targets=matrix(spec.targets, "loss.targets", width),
                reduction=spec.reduction)  # fmt: skip


def _a(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(arr, dtype=np.float64)


def _gradients(
    model: Model,
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    interventions: list[Clamp],
    loss: Loss,
    dtype: str,
    tokens: list[str] | None,
) -> bytes:
    grads = backward(model.cell, model.params, x, loss, h0=h0, c0=c0, readout=model.readout,
                     clamps=interventions, dtype=np.dtype(dtype))  # fmt: skip
    flow = grads.flow
    tensors = dict(grads.params)
    if grads.readout is not None:  # the readout is a weight too (its gradient is 0 for h losses)
        tensors |= {"readout.weight": grads.readout.weight, "readout.bias": grads.readout.bias}
    param_norms = {k: float(norms(v, tuple(range(v.ndim)))) for k, v in tensors.items()}
    # orjson would write an overflowed number as null in a 200: refuse it by name instead
    for name, arr in (("loss", np.asarray([grads.loss])), ("dh", flow.dh), ("dc", flow.dc),
                      ("dh_norm", flow.dh_norm), ("dc_norm", flow.dc_norm),
                      ("dx_norm", flow.dx_norm),
                      ("param_norms", np.asarray(list(param_norms.values())))):  # fmt: skip
        if arr is not None:
            check_finite(name, arr)
    layers = [
        {
            "dh_norm": _a(flow.dh_norm[k]),
            "dc_norm": None if flow.dc_norm is None else _a(flow.dc_norm[k]),
            "dh": _a(flow.dh[k]),
            "dc": None if flow.dc is None else _a(flow.dc[k]),
        }
        for k in range(model.num_layers)
    ]
    body: dict[str, Any] = {
        "cell": model.cell,
        "input_size": model.input_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        "steps": int(x.shape[0]),
        "loss": float(grads.loss),
    }
    if tokens is not None:
        body["tokens"] = tokens
    body["layers"] = layers
    body["dx_norm"] = _a(flow.dx_norm)
    body["param_norms"] = param_norms
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


@gradients_router.post(
    "/gradients",
    response_class=OrjsonResponse,
    responses={200: {"model": GradientsResponse}, **errors(400, 404, 413, 422, 503, 504)},
)
async def gradients(body: GradientsRequest, request: Request) -> OrjsonResponse:
    """The norms of dL/dh_t, dL/dc_t (LSTMs) and dL/dx_t at every step, and dL/dc_t per unit.

    Losses: `unit` (one unit of h at one step: how far back does its gradient reach?),
    `xent` (cross-entropy of the readout against class targets), `mse_h`, `mse_readout`.
    """
    settings = settings_of(request.app.state)
    precheck(body.model, body.inputs, body.text, settings)
    model = await run_in_threadpool(
        resolve_model, body.model, settings, store_of(request.app.state)
    )
    x, tokens = sequence(model, body.inputs, body.text, settings)
    h0, c0 = states(model, body.h0, body.c0)
    loss = engine_loss(body.loss, model)
    content = await run_in_threadpool(
        _gradients, model, x, h0, c0, clamps(body.clamp, model, len(x)), loss, body.dtype, tokens
    )
    return OrjsonResponse(content)
