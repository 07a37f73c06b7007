"""A trained model: the cell's weights in PyTorch names plus a linear readout."""

from dataclasses import dataclass

import numpy as np

from app.engine import Readout
from app.engine.spec import has_cell_state


@dataclass
class Model:
    """cell, params (weight_ih_l0 ...), readout (weight (V, H), bias (V,))."""

    cell: str
    params: dict[str, np.ndarray]
    readout: Readout

    @property
    def hidden_size(self) -> int:
        return int(self.params["weight_hh_l0"].shape[1])

    @property
    def input_size(self) -> int:
        return int(self.params["weight_ih_l0"].shape[1])

    @property
    def num_layers(self) -> int:
        return sum(1 for k in self.params if k.startswith("weight_ih_l"))

    @property
    def has_cell_state(self) -> bool:
        return has_cell_state(self.cell)

    def tensors(self) -> dict[str, np.ndarray]:
        """Every tensor under its state_dict name, the readout as readout.weight/.bias."""
        out = dict(self.params)
        out["readout.weight"] = self.readout.weight
        out["readout.bias"] = self.readout.bias
        return out
