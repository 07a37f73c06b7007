"""A training run one chunk of Adam updates at a time, with a picture of it after each chunk.

LiveRun drives the same Trainer as app/training/loop.train: the same config (and horizon)
gives the same batches, the same RNG stream and, after n updates, the same weights as train()
with steps=n and that horizon. snapshot() is a dict for orjson (OPT_SERIALIZE_NUMPY; its
arrays float32): the step, the last batch's loss and accuracy, the held-out metric on data
from a fixed seed, and for one fixed probe sequence the trace of layer 0 under the current
weights (every gate and state), the gradient flow |dL/dc_t| and |dL/dh_t| from the engine's
BPTT, and the share of sigmoid-gate values that are saturated (< 0.1 or > 0.9).
"""

from itertools import cycle, islice
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.engine.backward import backward
from app.engine.spec import GATES, SIGMOID_GATES
from app.engine.tasks import Batch, BracketDepth, DelayedRecall, Sine, Task
from app.engine.tasks.delayed_recall import FILLERS, PAIRS, QUERY
from app.training.config import TrainConfig
from app.training.loop import Trainer, Update, task_loss
from app.training.metrics import EVAL_SEED, evaluate, recall_accuracy

PROBE_SEED = 17
HELD_OUT_N = 200  # sequences in each held-out evaluation
SATURATED_LOW, SATURATED_HIGH = 0.1, 0.9


def probe_batch(task: Task, gap: int) -> Batch:
    """The fixed probe sequence (batch of one). Delayed recall: "I grew up in France", `gap`
    filler words, "speak" (target: French); other tasks: one sequence from PROBE_SEED."""
    if isinstance(task, DelayedRecall):
        fillers = list(islice(cycle(FILLERS[4:]), gap))
        words = ["I", "grew", "up", "in", PAIRS[0][0], *fillers, QUERY]
        x = task.encode(words)[:, None, :]
        targets = np.zeros((len(words), 1), dtype=np.int64)
        targets[-1, 0] = task.language_id(0)
        mask = np.zeros((len(words), 1))
        mask[-1, 0] = 1.0
        return Batch(x=x, targets=targets, mask=mask)
    return task.sample(np.random.default_rng(PROBE_SEED), 1)


def held_out(task: Task, run: Trainer, gap: int) -> dict[str, float]:
    """Delayed recall: accuracy at the run's gap; else the task's quick metrics; one seed."""
    if isinstance(task, DelayedRecall):
        rng = np.random.default_rng(EVAL_SEED)
        return {"accuracy": recall_accuracy(task, run.model, rng, gap, HELD_OUT_N)}
    metrics = evaluate(task, run.model, quick=True)
    if isinstance(task, BracketDepth):
        return {"accuracy": metrics["depth_accuracy"], **metrics}
    return metrics


def batch_accuracy(task: Task, done: Update) -> float | None:
    """Share of the scored positions of the last batch predicted right (None for values)."""
    if isinstance(task, Sine):
        return None
    logits = done.grads.trace.logits
    assert logits is not None
    scored = done.batch.mask > 0
    right = logits.argmax(axis=-1) == done.batch.targets
    return float(right[scored].mean())


def _floats(values: np.ndarray) -> np.ndarray:
    """float32: about 7 significant digits, more than the page's charts and heatmaps can
    show (it reads them back as doubles). orjson writes each as its shortest float32 text,
    which halves a snapshot (85 KB of JSON for the default LSTM, 47 KB) and the worker's
    cost of compressing it for the WebSocket."""
    return values.astype(np.float32)


class LiveRun:
    """One run of TrainConfig; horizon: the steps the learning rate decays over (default
    config.steps). step(n) does n Adam updates; snapshot() describes the run now."""

    def __init__(self, config: TrainConfig, horizon: int | None = None) -> None:
        self.config = config
        self.trainer = Trainer(config, horizon)
        self.gap = config.max_gap
        self.probe = probe_batch(self.trainer.task, self.gap)
        self.last: Update | None = None

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def horizon(self) -> int:
        return self.trainer.horizon

    def step(self, n: int = 1) -> None:
        with threadpool_limits(limits=1):
            for _ in range(n):
                self.last = self.trainer.update()

    def snapshot(self) -> dict[str, Any]:
        trainer, task, cell = self.trainer, self.trainer.task, self.config.cell
        model = trainer.model
        with threadpool_limits(limits=1):
            grads = backward(cell, model.params, self.probe.x, task_loss(task, self.probe),
                             readout=model.readout)  # fmt: skip
            metrics = held_out(task, trainer, self.gap)
        layer = {name: value[:, 0, :] for name, value in grads.trace.layers[0].items()}
        gates = [layer[g] for g in GATES[cell] if g in SIGMOID_GATES]
        saturation = None
        if gates:
            every = np.concatenate([g.ravel() for g in gates])
            share = np.mean((every < SATURATED_LOW) | (every > SATURATED_HIGH))
            saturation = float(share)
        flow = grads.flow
        probs = grads.trace.probs
        assert probs is not None
        return {
            "step": trainer.steps_done,
            "horizon": trainer.horizon,
            "cell": cell,
            "loss": None if self.last is None else self.last.loss,
            "grad_norm": None if self.last is None else self.last.grad_norm,
            "train_accuracy": None if self.last is None else batch_accuracy(task, self.last),
            "held_out": metrics,
            "probe": {
                "tokens": _probe_tokens(task, self.probe),
                "loss": grads.loss,
                "trace": {name: _floats(value) for name, value in layer.items()},
                "probs": _floats(probs[:, 0, :]),
                "dh_norm": _floats(flow.dh_norm[0]),
                "dc_norm": None if flow.dc_norm is None else _floats(flow.dc_norm[0]),
                "gate_saturation": saturation,
            },
        }


def _probe_tokens(task: Task, probe: Batch) -> list[str] | None:
    if task.vocab is None:
        return None
    return [task.vocab[int(k)] for k in probe.x[:, 0, :].argmax(axis=-1)]
