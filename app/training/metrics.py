"""How well a model does its task, measured on freshly generated (or held-out) data."""

from typing import Any

import numpy as np

from app.engine import Trace, run_trace
from app.engine.tasks import Batch, BracketDepth, CharLM, DelayedRecall, Sine, Task, one_hot
from app.training.model import Model

EVAL_SEED = 20240601  # metrics stored with a model use this seed; tests use others
RECALL_GAP = 40
SINE_WARMUP = 10  # steps before the model can know the frequency; left out of the RMSE


def trace(model: Model, x: np.ndarray, fields: Any = None) -> Trace:
    """The model's full trace (with readout) on x (T, B, D)."""
    return run_trace(model.cell, model.params, x, readout=model.readout, fields=fields)


def recall_accuracy(
    task: DelayedRecall, model: Model, rng: np.random.Generator, gap: int, n: int
) -> float:
    """Share of n sequences with this gap whose answer at the query is the right language."""
    batch, _, _ = task.make(rng, n, gap=gap)
    tr = trace(model, batch.x, fields=("h",))
    assert tr.logits is not None
    return float(np.mean(tr.logits[-1].argmax(axis=-1) == batch.targets[-1]))


def depth_accuracy(
    task: BracketDepth, model: Model, rng: np.random.Generator, n: int
) -> dict[str, float]:
    """Share of positions whose depth is predicted exactly, overall and at depth >= 6."""
    batch, depth = task.make(rng, n)
    tr = trace(model, batch.x, fields=("h",))
    assert tr.logits is not None
    right = tr.logits.argmax(axis=-1) == depth
    deep = depth >= 6
    return {
        "depth_accuracy": float(right.mean()),
        "depth_accuracy_deep": float(right[deep].mean()) if deep.any() else float("nan"),
    }


def sine_errors(task: Sine, model: Model, rng: np.random.Generator, n: int) -> dict[str, float]:
    """RMSE of the next-value prediction against repeating the last value (after warm-up)."""
    batch, _ = task.make(rng, n)
    tr = trace(model, batch.x, fields=("h",))
    assert tr.logits is not None
    keep = slice(SINE_WARMUP, None)
    rmse = float(np.sqrt(np.mean((tr.logits[keep] - batch.targets[keep]) ** 2)))
    last = float(np.sqrt(np.mean((batch.x[keep] - batch.targets[keep]) ** 2)))
    return {"rmse": rmse, "repeat_last_rmse": last, "rmse_ratio": last / rmse}


def held_out_bits(task: CharLM, model: Model) -> float:
    """Bits per character on the held-out text, read in windows of task.span characters, each
    from a zero state, as the model was trained."""
    ids, _ = task.windows(task.held_out_text, task.span + 1)
    batch = Batch(one_hot(ids[:-1], task.input_size), ids[1:], np.ones(ids[1:].shape))
    tr = trace(model, batch.x, fields=("h",))
    assert tr.logits is not None
    z = tr.logits - tr.logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, batch.targets[:, :, None], axis=-1)
    return float(-picked.mean() / np.log(2.0))


def evaluate(
    task: Task, model: Model, seed: int = EVAL_SEED, quick: bool = False
) -> dict[str, float]:
    """The task's metrics on fresh data from `seed` (quick: smaller samples, for curves)."""
    rng = np.random.default_rng(seed)
    if isinstance(task, DelayedRecall):
        n = 200 if quick else 1000
        out = {f"accuracy_gap{RECALL_GAP}": recall_accuracy(task, model, rng, RECALL_GAP, n)}
        if not quick:
            for gap in (10, 20, 60):
                out[f"accuracy_gap{gap}"] = recall_accuracy(task, model, rng, gap, n)
        return out
    if isinstance(task, BracketDepth):
        return depth_accuracy(task, model, rng, 100 if quick else 500)
    if isinstance(task, Sine):
        return sine_errors(task, model, rng, 100 if quick else 500)
    assert isinstance(task, CharLM)
    return {
        "held_out_bits_per_char": held_out_bits(task, model),
        "unigram_bits_per_char": task.unigram_bits(),
    }
