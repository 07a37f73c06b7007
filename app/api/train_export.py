"""A live run's weights into the model store: the page's "Open in explorer" (a model that lives
as long as the connection) and "Save" (an uploaded model with its training record)."""

import contextlib
from dataclasses import dataclass, field
from typing import Any

from app.api.errors import ApiError
from app.api.train_runs import Race
from app.api.train_schemas import TrainExport
from app.config import Settings
from app.store import ModelStore
from app.store.errors import StoreError
from app.training.export import example_input, output_labels
from app.training.loop import build_task
from app.training.model import Model


def _check_name(settings: Settings, raw: str | None, fallback: str) -> str:
    name = (raw or "").strip() or fallback
    if len(name) > settings.max_name_length:
        raise ApiError(422, "limit_exceeded", f"name has {len(name)} characters, the limit is "
                       f"{settings.max_name_length} (max_name_length)", "name")  # fmt: skip
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ApiError(422, "invalid_name", "name must not hold control characters", "name")
    return name


def record_fields(
    race: Race, k: int, model: Model, name: str, keep: str, units: list[dict[str, Any]]
) -> dict[str, Any]:
    """The stored model's metadata: what the upload route writes, plus how it was trained and
    the units worth looking at (the explorer opens on the memory unit named there)."""
    run = race.runs[k]
    task = build_task(run.config)
    params = sum(a.size for a in model.tensors().values())
    vocab = None if task.vocab is None else list(task.vocab)
    start = race.start.model_dump(exclude={"type"})
    return {
        "name": name,
        "cell": model.cell,
        "layout": "torch",
        "vocab": vocab,
        "labels": output_labels(task),
        "task": race.start.task,
        "input_size": model.input_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        "num_directions": 1,
        "parameters": int(params),
        "readout_size": int(model.readout.weight.shape[0]),
        "example": example_input(task),
        "units": units,
        "training": {
            "settings": {**start, "cell": model.cell},
            "step": run.steps_done,
            "horizon": run.horizon,
            "curve": race.curves[k],  # [step, loss, held-out accuracy] per snapshot sent
            "keep": keep,
        },
    }


@dataclass
class SessionModels:
    """The models one connection stored; its `session` ones are deleted when it closes."""

    store: ModelStore
    limit: int
    temporary: dict[str, str] = field(default_factory=dict)  # model id -> delete token

    def export(
        self,
        settings: Settings,
        race: Race,
        msg: TrainExport,
        model: Model,
        units: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Store `model`, the weights of race run msg.run now (the caller checked the run)."""
        run = race.runs[msg.run]
        fallback = f"{run.config.cell} on {race.start.task}, step {run.steps_done}"
        name = _check_name(settings, msg.name, fallback)
        if msg.keep == "session" and len(self.temporary) >= self.limit:
            raise ApiError(429, "limit_exceeded", f"this connection holds {len(self.temporary)} "
                           f"models opened in the explorer, the limit is {self.limit} "
                           "(train_session_models); reconnect to let them go", "keep")  # fmt: skip
        fields = record_fields(race, msg.run, model, name, msg.keep, units)
        try:
            info, token = self.store.add(model.params, model.readout, fields)
            if token is None and msg.keep == "saved" and info.id in self.temporary:
                # "Save" after "Open in explorer": the session's copy becomes the saved one,
                # under its new name, and is no longer deleted with the connection
                self.store.delete(info.id, self.temporary.pop(info.id))
                info, token = self.store.add(model.params, model.readout, fields)
        except StoreError as exc:
            raise ApiError(exc.status, exc.code, exc.message, "keep") from exc
        out: dict[str, Any] = {"type": "exported", "run": msg.run, "keep": msg.keep,
                               "model_id": info.id, "name": info.name}  # fmt: skip
        if token is None:  # the same weights were stored before: that copy stays as it is
            return out
        if msg.keep == "session":
            self.temporary[info.id] = token
        else:
            out["delete_token"] = token
        return out

    def close(self) -> None:
        for model_id, token in self.temporary.items():
            # deleted already, or the store cannot be written: nothing left to keep
            with contextlib.suppress(StoreError):
                self.store.delete(model_id, token)
        self.temporary.clear()
