"""One training run, fully described: every option that changes the weights is here."""

import shlex
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from app.engine.spec import CELLS
from app.engine.tasks import TASK_NAMES

CORPUS = Path(__file__).parent / "corpus" / "pride-and-prejudice.txt"


@dataclass(frozen=True)
class TrainConfig:
    """task, cell, hidden size, number of Adam steps, and the rest with defaults.

    length: sequence length for bracket-depth and sine, the truncated-BPTT chunk for char-lm.
    max_gap / curriculum (delayed-recall): training gaps are drawn from 1..max_gap, where
    max_gap grows linearly from 5 to its final value over the first `curriculum` steps
    (0 = no curriculum). The learning rate follows a half cosine from lr down to
    lr * lr_floor (1.0 = constant), which settles the weights at the end. forget_bias is
    added to the forget gate's bias_ih at the start (LSTM family), so memory is kept by
    default until training says otherwise.
    """

    task: str
    cell: str
    hidden: int
    steps: int
    seed: int = 0
    layers: int = 1
    batch: int = 32
    lr: float = 3e-3
    lr_floor: float = 0.1  # cosine decay of the learning rate to lr * lr_floor at the last step
    clip: float = 1.0
    forget_bias: float = 1.0
    length: int = 0  # 0 = the task's own default
    max_gap: int = 50
    curriculum: int = 0
    carry: int = 8  # char-lm: chunks a reader carries its state before it jumps elsewhere
    eval_every: int = 0  # 0 = about 10 evaluations per run

    def __post_init__(self) -> None:
        if self.task not in TASK_NAMES:
            raise ValueError(f"task {self.task!r} is unknown; expected one of {TASK_NAMES}")
        if self.cell not in CELLS:
            raise ValueError(f"cell {self.cell!r} is unknown; expected one of {CELLS}")
        for name in ("hidden", "steps", "layers", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} is {getattr(self, name)}, must be at least 1")
        if self.hidden > 512:
            raise ValueError(f"hidden is {self.hidden}, at most 512 in this trainer")
        for name in ("lr", "clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} is {getattr(self, name)}, must be positive")
        if not 0.0 <= self.lr_floor <= 1.0:
            raise ValueError(f"lr_floor is {self.lr_floor}, must be in [0, 1]")
        for name in ("length", "curriculum", "eval_every", "seed", "carry"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is {getattr(self, name)}, must be at least 0")
        if self.max_gap < 1:
            raise ValueError(f"max_gap is {self.max_gap}, must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def arguments(self) -> list[str]:
        """The `gatescope train` options that give this config (defaults left out)."""
        args = [
            f"--task={self.task}",
            f"--cell={self.cell}",
            f"--hidden={self.hidden}",
            f"--steps={self.steps}",
            f"--seed={self.seed}",
        ]
        for f in fields(self):
            if f.name in ("task", "cell", "hidden", "steps", "seed"):
                continue
            value = getattr(self, f.name)
            if value != f.default:
                args.append(f"--{f.name.replace('_', '-')}={value}")
        return args

    def command(self, out: str, model_id: str | None = None) -> str:
        """The exact shell command that retrains this model into `out`."""
        extra = [f"--id={model_id}"] if model_id else []
        return shlex.join(["gatescope", "train", *self.arguments(), *extra, f"--out={out}"])
