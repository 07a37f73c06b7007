"""A Keras 3 model's layers in order, from its config.json (parsed JSON only: no Keras code is
run, no Python object deserialised) or, for a lone .weights.h5, from the file's group layout.

Keras 3 writes a layer's weights under layers/<class in snake case>[_<n>] (the n-th layer of
that class in model order), its RNN cell's under .../cell/vars/0, 1, 2 (kernel,
recurrent_kernel, bias), a Bidirectional's under .../forward_layer/... and .../backward_layer/...,
and each vars group's "name" attribute is the layer's own name.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.engine.errors import LayoutError

RECURRENT = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}
# Layers that leave values unchanged at inference (or only carry the input's shape).
PASSIVE = frozenset({"InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout",
                     "GaussianNoise", "AlphaDropout", "ActivityRegularization"})  # fmt: skip
_ROLES = {"rnn": ("kernel", "recurrent_kernel", "bias"), "Dense": ("kernel", "bias"),
          "Embedding": ("embeddings",)}  # fmt: skip


@dataclass(frozen=True)
class KerasLayer:
    """One layer: its name, class, config and weights (direction -> role -> tensor name)."""

    name: str
    kind: str
    config: Mapping[str, Any]
    weights: Mapping[str, Mapping[str, str]]
    inner: str | None = None  # a Bidirectional's wrapped class (LSTM, GRU, SimpleRNN)


def snake(name: str) -> str:
    """Keras's to_snake_case: "SimpleRNN" -> "simple_rnn", "LSTM" -> "lstm"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _vars(tensors: Mapping[str, Any], path: str, roles: tuple[str, ...]) -> dict[str, str]:
    """role -> tensor name for the numbered variables under path/vars (only those present)."""
    found = {}
    for j, role in enumerate(roles):
        name = f"{path}/vars/{j}"
        if name in tensors:
            found[role] = name
    return found


def _weights(kind: str, inner: str | None, group: str, tensors: Mapping[str, Any]) -> Any:
    if kind in RECURRENT:
        return {"forward": _vars(tensors, f"{group}/cell", _ROLES["rnn"])}
    if kind == "Bidirectional":
        return {
            d: _vars(tensors, f"{group}/{d}_layer/cell", _ROLES["rnn"])
            for d in ("forward", "backward")
        }
    return {"forward": _vars(tensors, group, _ROLES.get(kind, ()))}


def _layer_list(config: Any) -> list[Mapping[str, Any]]:
    if not isinstance(config, Mapping) or not isinstance(config.get("config"), Mapping):
        raise LayoutError("config.json is not a Keras model config ({class_name, config})")
    kind = config.get("class_name")
    layers = config["config"].get("layers")
    if kind not in ("Sequential", "Functional", "Model") or not isinstance(layers, list):
        raise LayoutError(
            f"config.json describes a {str(kind)[:40]!r}; only Sequential and Functional "
            "models (a chain of layers) are read"
        )
    for entry in layers:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("config"), Mapping):
            raise LayoutError("config.json has a layer entry without class_name and config")
    if kind != "Sequential":
        _check_chain(layers)
    return layers


def _inbound(node: Any) -> list[str]:
    """The layer names a Keras 3 inbound node reads (its keras_history entries)."""
    if isinstance(node, Mapping):
        history = node.get("keras_history")
        if isinstance(history, list) and history and isinstance(history[0], str):
            return [history[0]]
        return [n for v in node.values() for n in _inbound(v)]
    if isinstance(node, list):
        return [n for v in node for n in _inbound(v)]
    return []


def _check_chain(layers: list[Mapping[str, Any]]) -> None:
    previous = None
    for entry in layers:
        name = str(entry["config"].get("name"))
        reads = _inbound(entry.get("inbound_nodes", []))
        if previous is not None and reads != [previous]:
            raise LayoutError(
                f"layer {name} reads {reads or 'nothing'}, not the layer before it "
                f"({previous}); only models that are a chain of layers are read"
            )
        previous = name


def config_layers(config: Any, tensors: Mapping[str, Any]) -> list[KerasLayer]:
    """The layers of a .keras file's config in model order, with their weights' tensor names.

    Each layer's group is the one Keras itself loads it from: its class in snake case,
    numbered by the layers of that class before it (not the layer's name, which Keras does
    not address saved layers by).
    """
    counts: dict[str, int] = {}
    layers = []
    for entry in _layer_list(config):
        kind, cfg = str(entry.get("class_name")), entry["config"]
        base = snake(kind)
        n = counts.get(base, 0)
        counts[base] = n + 1
        name = str(cfg.get("name", base))
        group = f"layers/{base}" + (f"_{n}" if n else "")  # how Keras addresses it on load
        inner = None
        if kind == "Bidirectional":
            wrapped = cfg.get("layer")
            inner = str(wrapped.get("class_name")) if isinstance(wrapped, Mapping) else None
        layers.append(KerasLayer(name, kind, cfg, _weights(kind, inner, group, tensors), inner))
    return layers


def legacy_layers(
    config: Any, tensors: Mapping[str, Any], attrs: Mapping[str, Mapping[str, Any]]
) -> list[KerasLayer]:
    """The layers of a Keras 2 style .h5 full model (model_config, model_weights/<layer> with
    its weight_names attribute), the weights' roles by their names (.../kernel:0)."""
    layers = []
    for entry in _layer_list(config):
        kind, cfg = str(entry.get("class_name")), entry["config"]
        name = str(cfg.get("name"))
        listed = attrs.get(f"model_weights/{name}", {}).get("weight_names", [])
        weights: dict[str, dict[str, str]] = {"forward": {}}
        for wn in listed if isinstance(listed, list) else []:
            parts = str(wn).removesuffix(":0").split("/")
            path = f"model_weights/{name}/{wn}"
            if path not in tensors:
                raise LayoutError(f"layer {name} lists the weight {wn}, which is not in the file")
            back = any(p.startswith("backward_") for p in parts[:-1])
            weights.setdefault("backward" if back else "forward", {})[parts[-1]] = path
        inner = None
        if kind == "Bidirectional":
            wrapped = cfg.get("layer")
            inner = str(wrapped.get("class_name")) if isinstance(wrapped, Mapping) else None
        layers.append(KerasLayer(name, kind, cfg, weights, inner))
    return layers


_BY_SNAKE = {
    snake(kind): kind
    for kind in ("LSTM", "GRU", "SimpleRNN", "Bidirectional", "Dense", "Embedding")
}


def weights_file_layers(tensors: Mapping[str, Any]) -> list[KerasLayer]:
    """A lone .weights.h5's layers, ordered where its layout tells the order unambiguously:
    one Embedding, then the recurrent layers of one class numbered in model order (lstm,
    lstm_1, ...), then one Dense. Anything else is refused with what to upload instead."""
    groups: dict[str, list[str]] = {}
    for name in tensors:
        parts = name.split("/")
        if len(parts) >= 3 and parts[0] == "layers":
            groups.setdefault(parts[1], []).append(name)
        else:
            raise LayoutError(
                f"{name} is not under layers/<layer>/: not a Keras 3 .weights.h5 of a model; "
                'upload the .keras file (model.save("m.keras"))'
            )
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for group in groups:
        m = re.fullmatch(r"(.+?)(?:_(\d+))?", group)
        assert m is not None
        kind = _BY_SNAKE.get(m[1])
        if kind is None:
            raise LayoutError(
                f"the file holds a layer {group!r} whose place in the model a .weights.h5 does "
                'not record; upload the .keras file (model.save("m.keras")), whose config.json '
                "tells the layer order"
            )
        by_kind.setdefault(kind, []).append((int(m[2] or 0), group))
    rnn_kinds = [k for k in by_kind if k in RECURRENT or k == "Bidirectional"]
    for kind in ("Embedding", "Dense"):
        if len(by_kind.get(kind, [])) > 1:
            shown = ", ".join(g for _, g in sorted(by_kind[kind]))
            raise LayoutError(
                f"several {kind} layers ({shown}): a .weights.h5 does not record their order; "
                'upload the .keras file (model.save("m.keras"))'
            )
    if len(rnn_kinds) > 1:
        raise LayoutError(
            f"recurrent layers of several kinds ({', '.join(sorted(rnn_kinds))}): a .weights.h5 "
            'does not record their order; upload the .keras file (model.save("m.keras"))'
        )
    order = ["Embedding", *rnn_kinds, "Dense"]
    layers = []
    for kind in order:
        for _, group in sorted(by_kind.get(kind, [])):
            weights = _weights(kind, None, f"layers/{group}", tensors)
            layers.append(KerasLayer(group, kind, {}, weights))
    return layers


def owned(layers: list[KerasLayer]) -> set[str]:
    """Every tensor name the layers' weights name."""
    return {n for la in layers for roles in la.weights.values() for n in roles.values()}
