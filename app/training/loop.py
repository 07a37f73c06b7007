"""The training loop: Adam on the engine's BPTT, clipped, truncated for long text, seeded."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from app.engine import Readout, init_params
from app.engine.backward import Gradients, Loss, LossKind, backward
from app.engine.optim import Adam, clip_global_norm
from app.engine.tasks import Batch, BracketDepth, CharLM, DelayedRecall, Sine, Task
from app.training.config import CORPUS, TrainConfig
from app.training.model import Model

CURRICULUM_START_GAP = 5


def build_task(config: TrainConfig) -> Task:
    """The task object a config names, with its length / gap options applied."""
    length = {"length": config.length} if config.length else {}
    if config.task == "delayed-recall":
        return DelayedRecall(max_gap=config.max_gap)
    if config.task == "bracket-depth":
        return BracketDepth(**length)
    if config.task == "sine":
        return Sine(**length)
    return CharLM(CORPUS.read_text(encoding="utf-8"), carry=config.carry, **length)


def init_model(config: TrainConfig, task: Task) -> Model:
    """PyTorch-style random weights from the seed; the LSTM's forget bias raised by
    config.forget_bias; the readout drawn like nn.Linear, U(-1/sqrt(H), 1/sqrt(H))."""
    H = config.hidden
    params = init_params(config.cell, task.input_size, H, config.layers, config.seed)
    if config.cell.startswith("lstm"):
        rows = slice(0, H) if config.cell == "lstm_coupled" else slice(H, 2 * H)  # f rows
        for k in range(config.layers):
            params[f"bias_ih_l{k}"][rows] += config.forget_bias
    rng = np.random.default_rng([config.seed, 1])
    bound = 1.0 / np.sqrt(H)
    readout = Readout(
        weight=rng.uniform(-bound, bound, size=(task.output_size, H)),
        bias=rng.uniform(-bound, bound, size=task.output_size),
    )
    return Model(config.cell, params, readout)


def learning_rate(config: TrainConfig, step: int, horizon: int | None = None) -> float:
    """Half-cosine decay from config.lr at step 0 to config.lr * lr_floor at the last step
    (step horizon - 1; config.steps unless given)."""
    steps = config.steps if horizon is None else horizon
    progress = step / max(1, steps - 1)
    scale = config.lr_floor + (1.0 - config.lr_floor) * 0.5 * (1.0 + np.cos(np.pi * progress))
    return float(config.lr * scale)


def task_loss(task: Task, batch: Batch) -> Loss:
    """Cross-entropy for class targets, MSE through the readout for values; masked."""
    kind: LossKind = "xent" if task.target_kind == "classes" else "mse_readout"
    return Loss(kind, targets=batch.targets, mask=batch.mask > 0)


@dataclass
class Curve:
    """What the run looked like: loss and gradient norm per step, evaluations now and then."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "loss": self.loss,
            "grad_norm": self.grad_norm,
            "evals": self.evals,
        }


@dataclass
class TrainResult:
    config: TrainConfig
    task: Task
    model: Model
    curve: Curve
    seconds: float


Evaluator = Callable[[Task, Model], dict[str, float]]


class _Stepper:
    """Draws batches and carries the recurrent state between chunks (truncated BPTT)."""

    def __init__(self, config: TrainConfig, task: Task, rng: np.random.Generator) -> None:
        self.config, self.task, self.rng = config, task, rng
        self.streams = task.streams(rng, config.batch) if isinstance(task, CharLM) else None
        self.h0: np.ndarray | None = None
        self.c0: np.ndarray | None = None

    def batch(self, step: int) -> Batch:
        task = self.task
        if self.streams is not None:
            batch, reset = self.streams.next()
            for state in (self.h0, self.c0):
                if state is not None:
                    state[:, reset] = 0.0  # a reader that jumped starts from a zero state
            return batch
        if isinstance(task, DelayedRecall) and self.config.curriculum:
            grown = CURRICULUM_START_GAP + (self.config.max_gap - CURRICULUM_START_GAP) * (
                step / self.config.curriculum
            )
            task.max_gap = int(min(self.config.max_gap, grown))
        return task.sample(self.rng, self.config.batch)

    def keep_state(self, h_n: np.ndarray, c_n: np.ndarray | None) -> None:
        if self.streams is not None:  # carried forward, but no gradient flows back into it
            self.h0 = h_n.copy()
            self.c0 = None if c_n is None else c_n.copy()


@dataclass
class Update:
    """One Adam update's numbers: the step it was, its loss and gradient norm, and the
    backward pass of its batch (forward trace and gradient flow)."""

    step: int
    loss: float
    grad_norm: float
    batch: Batch
    grads: Gradients


class Trainer:
    """The training run, one Adam update at a time: train() and LiveRun both drive this, so
    the same config gives the same batches, the same RNG stream and the same weights.

    horizon: the step count the learning-rate schedule decays over (config.steps unless
    given). Call update() under threadpool_limits(1) for sums in a fixed order.
    """

    def __init__(self, config: TrainConfig, horizon: int | None = None) -> None:
        self.config = config
        self.horizon = config.steps if horizon is None else horizon
        self.task = build_task(config)
        self.model = init_model(config, self.task)
        self.rng = np.random.default_rng([config.seed, 2])
        self.weights = self.model.tensors()  # one dict, so Adam and clipping see every tensor
        self.adam = Adam(self.weights, lr=config.lr)
        self.stepper = _Stepper(config, self.task, self.rng)
        self.steps_done = 0

    def update(self) -> Update:
        config, task, model, stepper = self.config, self.task, self.model, self.stepper
        step = self.steps_done
        batch = stepper.batch(step)
        grads = backward(
            config.cell,
            model.params,
            batch.x,
            task_loss(task, batch),
            h0=stepper.h0,
            c0=stepper.c0,
            readout=model.readout,
        )
        assert grads.readout is not None
        stepper.keep_state(grads.trace.h_n, grads.trace.c_n)
        flat = dict(grads.params)
        flat["readout.weight"] = grads.readout.weight
        flat["readout.bias"] = grads.readout.bias
        clipped, norm = clip_global_norm(flat, config.clip)
        self.adam.lr = learning_rate(config, step, self.horizon)
        self.adam.step(self.weights, clipped)
        self.steps_done = step + 1
        return Update(step, grads.loss, norm, batch, grads)


def train(
    config: TrainConfig,
    *,
    evaluate: Evaluator | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train from scratch; the same config gives the same weights on the same machine.

    evaluate(task, model) -> metrics is called about ten times (config.eval_every) and at the
    end; its numbers go into the curve. BLAS runs on one thread: small matrices are faster so
    and the sums come out in the same order every time.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    trainer = Trainer(config)
    task, model = trainer.task, trainer.model
    curve = Curve()
    every = config.eval_every or max(1, config.steps // 10)
    bar = tqdm(range(config.steps), disable=not progress, desc=config.task, mininterval=0.5)
    with threadpool_limits(limits=1):
        for step in bar:
            done = trainer.update()
            curve.step.append(step)
            curve.loss.append(done.loss)
            curve.grad_norm.append(done.grad_norm)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{done.loss:.4f}", refresh=False)
            if evaluate is not None and (step + 1) % every == 0 and step + 1 < config.steps:
                curve.evals.append({"step": step + 1, **evaluate(task, model)})
        if evaluate is not None:
            curve.evals.append({"step": config.steps, **evaluate(task, model)})
    bar.close()
    return TrainResult(config, task, model, curve, time.perf_counter() - started)
