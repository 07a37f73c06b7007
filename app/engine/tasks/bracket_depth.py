"""bracket-depth: read brackets and letters, say after every character how deep you are.

After each character the target is the nesting depth so far: "(" adds one, ")" takes one
away, letters leave it alone. Depth never goes below 0 nor above `max_depth`. The network has to
count, which an LSTM does with one cell state: the input gate lets +1 or -1 in at each bracket
and the forget gate keeps the sum. This is the counter cell of Karpathy, Johnson and Fei-Fei.
"""

from dataclasses import dataclass, field

import numpy as np

from app.engine.tasks.common import Batch, TargetKind, TaskInfo, check_positive, one_hot

TOKENS: tuple[str, ...] = ("(", ")", "x", "y")
OPEN, CLOSE = 0, 1

INFO = TaskInfo(
    name="bracket-depth",
    summary={
        "en": (
            "A string of brackets and letters. After every character the model says how "
            "deeply nested it is: '(' adds one, ')' takes one away, letters change nothing."
        ),
        "zh": (
            "输入是由括号和字母组成的字符串。每读一个字符，模型都要说出当前的嵌套深度："
            "“(” 加一，“)” 减一，字母不变。"
        ),
    },
    look_at={
        "en": (
            "Look for the counter: one cell whose c goes up at '(' and down at ')' and holds "
            "steady on letters, so that c tracks the depth like a running sum."
        ),
        "zh": (
            "寻找计数单元：它的 c 遇到 “(” 上升、遇到 “)” 下降、遇到字母保持不变，"
            "像一个累加器一样跟踪深度。"
        ),
    },
)


@dataclass
class BracketDepth:
    """Random bracket strings of `length` characters with depth in 0..max_depth.

    Each row draws its own tendency to open, so batches hold both shallow and deep strings.
    letter_rate: the share of letters among characters.
    """

    length: int = 80
    max_depth: int = 8
    letter_rate: float = 0.25
    info: TaskInfo = field(default=INFO, init=False)
    target_kind: TargetKind = field(default="classes", init=False)

    def __post_init__(self) -> None:
        check_positive("length", self.length)
        check_positive("max_depth", self.max_depth)
        if not 0.0 <= self.letter_rate < 1.0:
            raise ValueError(f"letter_rate is {self.letter_rate}, must be in [0, 1)")
        self.vocab: tuple[str, ...] | None = TOKENS
        self.input_size = len(TOKENS)
        self.output_size = self.max_depth + 1  # depth classes 0..max_depth

    def make(
        self, rng: np.random.Generator, batch_size: int, length: int | None = None
    ) -> tuple[Batch, np.ndarray]:
        """A batch and its depths (T, B) int64 (the same array as the targets)."""
        check_positive("batch_size", batch_size)
        T = self.length if length is None else length
        check_positive("length", T)
        p_open = rng.uniform(0.3, 0.8, size=batch_size)  # per row: how eager to nest
        ids = np.empty((T, batch_size), dtype=np.int64)
        depth = np.empty((T, batch_size), dtype=np.int64)
        d = np.zeros(batch_size, dtype=np.int64)
        for t in range(T):
            letter = rng.random(batch_size) < self.letter_rate
            want_open = rng.random(batch_size) < p_open
            opens = np.where(d == 0, True, np.where(d == self.max_depth, False, want_open))
            tok = np.where(letter, rng.integers(2, len(TOKENS), size=batch_size), 0)
            tok = np.where(letter, tok, np.where(opens, OPEN, CLOSE))
            d = d + (tok == OPEN) - (tok == CLOSE)
            ids[t] = tok
            depth[t] = d
        batch = Batch(
            x=one_hot(ids, self.input_size),
            targets=depth,
            mask=np.ones((T, batch_size), dtype=np.float64),
        )
        return batch, depth

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return self.make(rng, batch_size)[0]

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A string -> ((T, 4) one-hot, (T,) depths); other characters and depths out of
        0..max_depth are refused."""
        index = {ch: i for i, ch in enumerate(TOKENS)}
        ids, depths, d = [], [], 0
        for pos, ch in enumerate(text):
            if ch not in index:
                raise ValueError(f"character {ch!r} at {pos} is not one of {''.join(TOKENS)}")
            d += (ch == "(") - (ch == ")")
            if not 0 <= d <= self.max_depth:
                raise ValueError(f"depth {d} at {pos} is outside 0..{self.max_depth}")
            ids.append(index[ch])
            depths.append(d)
        return one_hot(np.array(ids, dtype=np.int64), self.input_size), np.array(depths)
