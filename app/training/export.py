"""Writing a trained model: <id>.safetensors (PyTorch names) and <id>.json (metadata)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from app.engine.tasks import BracketDepth, CharLM, DelayedRecall, Sine, Task
from app.engine.tasks.delayed_recall import FILLERS, QUERY
from app.training.loop import TrainResult
from app.training.units import UnitNote

FORMAT_VERSION = 1


def output_labels(task: Task) -> list[str] | None:
    """What each readout output means: a token, a depth, or None for a numeric output."""
    if isinstance(task, BracketDepth):
        return [str(d) for d in range(task.output_size)]
    if isinstance(task, Sine):
        return None
    return list(task.vocab) if task.vocab is not None else None


def example_input(task: Task) -> Any:
    """A typical input to open the model with: text for token models, rows for numbers."""
    if isinstance(task, DelayedRecall):
        gap = [FILLERS[(7 * k + 3) % len(FILLERS)] for k in range(24)]
        return " ".join(["I", "grew", "up", "in", "France", *gap, QUERY])
    if isinstance(task, BracketDepth):
        return "(x(y((x)y)(()))x)((y(x)))"
    if isinstance(task, Sine):
        t = np.arange(60)
        return [[round(float(v), 4)] for v in np.sin(0.3 * t + 0.5)]
    assert isinstance(task, CharLM)
    text = task.held_out_text
    start = text.find('\n\n"') + 2
    end = text.find("\n\n", start + 200)
    return text[start:end]


def metadata(
    result: TrainResult,
    model_id: str,
    names: dict[str, str],
    description: dict[str, str],
    units: list[UnitNote],
    metrics: dict[str, float],
    command: str,
) -> dict[str, Any]:
    model, task, config = result.model, result.task, result.config
    return {
        "format": FORMAT_VERSION,
        "id": model_id,
        "name": names["en"],
        "names": names,  # the name in English and Chinese, beside `description`
        "cell": model.cell,
        "input_size": model.input_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        "task": config.task,
        "vocab": None if task.vocab is None else list(task.vocab),
        "labels": output_labels(task),
        "readout": True,
        "readout_size": int(model.readout.weight.shape[0]),
        "description": description,
        "task_description": task.info.summary,
        "look_at": task.info.look_at,
        "units": [u.to_dict() for u in units],
        "metrics": {k: round(v, 6) for k, v in metrics.items()},
        "example": example_input(task),
        "command": command,
        "seed": config.seed,
        "config": config.to_dict(),
        "training_seconds": round(result.seconds, 1),
    }


def write_model(out: Path, model_id: str, result: TrainResult, meta: dict[str, Any]) -> Path:
    """out/<id>.safetensors and out/<id>.json; returns the JSON path."""
    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: np.ascontiguousarray(v, dtype=np.float64) for k, v in result.model.tensors().items()
    }
    weights = out / f"{model_id}.safetensors"
    save_file(tensors, str(weights), metadata={"gatescope": model_id})
    weights.chmod(0o644)  # safetensors writes 0600; a server running as another user must read it
    path = out / f"{model_id}.json"
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
