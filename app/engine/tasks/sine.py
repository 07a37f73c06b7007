"""sine: predict the next value of a noisy sine wave whose frequency changes from row to row.

Input at step t is one number, x_t = sin(w t + phase) + noise; the target is x_{t+1}. The
frequency w is unknown to the model: it has to infer it from the first few values and keep
it, together with the phase, in its state. This is the numeric input path: no vocabulary, a
single input feature and a single linear output.
"""

from dataclasses import dataclass, field

import numpy as np

from app.engine.tasks.common import Batch, TargetKind, TaskInfo, check_positive

INFO = TaskInfo(
    name="sine",
    summary={
        "en": (
            "One number comes in at each step: a noisy sine wave whose speed differs from "
            "sequence to sequence. The model predicts the next number, so it must work out "
            "the wave's speed and where in the cycle it is."
        ),
        "zh": (
            "每一步输入一个数：带噪声的正弦波，每条序列的频率各不相同。"
            "模型要预测下一个数，因此必须推断出波的快慢以及当前处于周期的哪个位置。"
        ),
    },
    look_at={
        "en": (
            "Look for a pair of units that oscillate a quarter period apart, like sine and "
            "cosine: together they hold the phase of the wave."
        ),
        "zh": (
            "寻找一对相位相差四分之一周期、像正弦与余弦那样振荡的单元：它们合起来记录了波的相位。"
        ),
    },
)


@dataclass
class Sine:
    """Rows of `length` steps; w ~ U(min_freq, max_freq) radians per step, noise N(0, noise^2).

    Targets are the next noisy value, so even a perfect model keeps an error of about `noise`.
    """

    length: int = 100
    min_freq: float = 0.1
    max_freq: float = 0.6
    noise: float = 0.02
    info: TaskInfo = field(default=INFO, init=False)
    target_kind: TargetKind = field(default="values", init=False)

    def __post_init__(self) -> None:
        check_positive("length", self.length)
        if not 0.0 < self.min_freq <= self.max_freq:
            raise ValueError(
                f"frequencies must satisfy 0 < min_freq <= max_freq, got "
                f"{self.min_freq} and {self.max_freq}"
            )
        if self.noise < 0:
            raise ValueError(f"noise is {self.noise}, must be at least 0")
        self.vocab: tuple[str, ...] | None = None
        self.input_size = 1
        self.output_size = 1

    def make(
        self, rng: np.random.Generator, batch_size: int, length: int | None = None
    ) -> tuple[Batch, np.ndarray]:
        """A batch and the frequency of each row (B,)."""
        check_positive("batch_size", batch_size)
        T = self.length if length is None else length
        check_positive("length", T)
        freq = rng.uniform(self.min_freq, self.max_freq, size=batch_size)
        phase = rng.uniform(0.0, 2.0 * np.pi, size=batch_size)
        t = np.arange(T + 1, dtype=np.float64)[:, None]
        wave = np.sin(freq * t + phase) + self.noise * rng.standard_normal((T + 1, batch_size))
        batch = Batch(
            x=wave[:-1, :, None],
            targets=wave[1:, :, None],
            mask=np.ones((T, batch_size), dtype=np.float64),
        )
        return batch, freq

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return self.make(rng, batch_size)[0]
