"""What gatescope.trace and Client.trace return: the trace as NumPy arrays, and its views."""

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class Layer(Mapping[str, np.ndarray]):
    """One layer's traced fields: ``layer.f`` or ``layer["f"]``, each (steps, hidden) or
    (steps, batch, hidden); ``backward`` the backward direction's Layer (or None)."""

    def __init__(self, fields: Mapping[str, np.ndarray], backward: "Layer | None" = None) -> None:
        self._fields = dict(fields)
        self.backward = backward

    def __getitem__(self, name: str) -> np.ndarray:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            found: np.ndarray = self.__dict__["_fields"][name]
            return found
        except KeyError:
            raise AttributeError(f"no field {name!r}; fields: {', '.join(self._fields)}") from None

    def __repr__(self) -> str:
        shape = next(iter(self._fields.values())).shape if self._fields else ()
        both = ", with backward" if self.backward is not None else ""
        return f"Layer({', '.join(self._fields)}; {shape}{both})"


@dataclass(repr=False)
class Trace:
    """Every gate and state of every layer at every step (float64 unless asked otherwise).

    layers[k]: a Layer (``trace.layers[0].f``); for a bidirectional model
    ``trace.layers[k].backward`` holds the backward direction, in forward time. h_n, c_n:
    (layers * directions, hidden); logits, probs: (steps, classes) when the model has a
    readout. inputs: what layer 0 read at each step (the embedding rows for token ids).
    """

    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    layers: list[Layer]
    h_n: np.ndarray
    c_n: np.ndarray | None = None
    logits: np.ndarray | None = None
    probs: np.ndarray | None = None
    inputs: np.ndarray | None = None
    tokens: list[str] | None = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_directions(self) -> int:
        return 2 if self.layers and self.layers[0].backward is not None else 1

    @property
    def steps(self) -> int:
        return int(next(iter(self.layers[0].values())).shape[0])

    def __repr__(self) -> str:
        both = ", bidirectional" if self.num_directions == 2 else ""
        readout = f", readout of {self.logits.shape[-1]}" if self.logits is not None else ""
        return (
            f"Trace({self.cell}, D={self.input_size}, H={self.hidden_size}, "
            f"layers={self.num_layers}, steps={self.steps}{both}{readout})"
        )

    def to_json(self) -> dict[str, Any]:
        """The API's JSON answer shape (POST /api/v1/trace), float64 as nested lists; the
        first batch row of a batched trace."""

        def rows(a: np.ndarray) -> Any:
            a = np.asarray(a, dtype=np.float64)
            return (a[:, 0, :] if a.ndim == 3 else a).tolist()

        body: dict[str, Any] = {
            "cell": self.cell,
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "dtype": "float64",
            "steps": self.steps,
        }
        if self.num_directions == 2:
            body["num_directions"] = 2
        if self.tokens is not None:
            body["tokens"] = list(self.tokens)
        layers = []
        for layer in self.layers:
            out = {k: rows(v) for k, v in layer.items()}
            if layer.backward is not None:
                out["backward"] = {k: rows(v) for k, v in layer.backward.items()}
            layers.append(out)
        body["layers"] = layers
        body["h_n"] = np.asarray(self.h_n, dtype=np.float64).tolist()
        body["c_n"] = None if self.c_n is None else np.asarray(self.c_n, np.float64).tolist()
        if self.logits is not None and self.probs is not None:
            body["readout"] = {"logits": rows(self.logits), "probs": rows(self.probs)}
        if self.inputs is not None:
            body["inputs"] = rows(self.inputs)
        return body

    def html(self, lang: str = "en") -> str:
        """The explorer for this trace as one self-contained HTML page (see save_html)."""
        from app.web.standalone import standalone_html

        return standalone_html(self.to_json(), lang=lang, title=self.title)

    def save_html(self, path: str | Path, lang: str = "en") -> Path:
        """Write the explorer for this trace as ONE HTML file: its scripts, styles and this
        trace inlined, no server and no network needed (a Content-Security-Policy forbids
        both). Opens from disk, in slides or on a course page. Returns the path."""
        out = Path(path)
        out.write_text(self.html(lang), encoding="utf-8")
        return out

    def show(self, height: int = 900, lang: str = "en") -> Any:
        """The explorer inline in Jupyter: an IPython HTML object holding an iframe whose
        srcdoc is the save_html page."""
        from IPython.display import HTML

        doc = html.escape(self.html(lang), quote=True)
        return HTML(  # type: ignore[no-untyped-call]
            f'<iframe srcdoc="{doc}" style="width:100%;height:{height}px;border:0" '
            'title="Gatescope explorer"></iframe>'
        )

    def _repr_html_(self) -> str:
        both = " bidirectional" if self.num_directions == 2 else ""
        return (
            f"<p>Gatescope trace: {html.escape(self.cell)}{both}, {self.num_layers} layer(s), "
            f"{self.steps} steps, H={self.hidden_size}. <code>.show()</code> draws it.</p>"
        )


def from_engine(result: Any, inputs: np.ndarray | None, tokens: list[str] | None) -> Trace:
    """A Trace from app.engine's Trace."""
    backward = result.backward or [None] * len(result.layers)
    layers = [
        Layer(f, None if b is None else Layer(b))
        for f, b in zip(result.layers, backward, strict=True)
    ]
    return Trace(
        result.cell, result.input_size, result.hidden_size, result.num_layers, layers,
        result.h_n, result.c_n, result.logits, result.probs, inputs, tokens,
    )  # fmt: skip


def from_safetensors(blob: bytes, inputs: np.ndarray | None = None) -> Trace:
    """A Trace from the API's safetensors answer (format "safetensors")."""
    import json

    from safetensors.numpy import load

    tensors = load(blob)
    n = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8 : 8 + n]).get("__metadata__", {})
    fields = json.loads(meta["fields"])
    num_layers = int(meta["num_layers"])
    two = meta.get("num_directions") == "2"
    layers = []
    for k in range(num_layers):
        back = Layer({f: tensors[f"layers.{k}.backward.{f}"] for f in fields}) if two else None
        layers.append(Layer({f: tensors[f"layers.{k}.{f}"] for f in fields}, back))
    tokens = json.loads(meta["tokens"]) if "tokens" in meta else None
    return Trace(
        meta["cell"], int(meta["input_size"]), int(meta["hidden_size"]), num_layers, layers,
        tensors["h_n"], tensors.get("c_n"), tensors.get("readout.logits"),
        tensors.get("readout.probs"), inputs, tokens,
    )  # fmt: skip
