import pytest

from app.training.builtin import BuiltinModel, load_builtin_models
from app.training.model import Model


@pytest.fixture(scope="session")
def builtin() -> dict[str, BuiltinModel]:
    return {m.id: m for m in load_builtin_models()}


def as_model(item: BuiltinModel) -> Model:
    assert item.readout is not None
    return Model(item.cell, item.params, item.readout)


def listed_unit(item: BuiltinModel, kind: str) -> dict:
    units = [u for u in item.meta["units"] if u["kind"] == kind]
    assert units, f"{item.id} lists no {kind} unit"
    return units[0]
