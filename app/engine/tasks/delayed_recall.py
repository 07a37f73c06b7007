"""delayed-recall: remember a country across a gap of filler words, then name its language.

The article's example ("I grew up in France ... I speak fluent French") as a task. A sequence
is some filler words, one country, `gap` filler words, then the query word "speak"; the target
at the query is the language of the country. Only the query step is scored. An LSTM solves it
by storing the country in a few cells whose forget gate stays near 1 through the gap and
whose input gate opens only at the country; a plain RNN's memory fades over the gap.
"""

from dataclasses import dataclass, field

import numpy as np

from app.engine.tasks.common import Batch, TargetKind, TaskInfo, check_positive, one_hot

PAIRS: tuple[tuple[str, str], ...] = (
    ("France", "French"),
    ("Japan", "Japanese"),
    ("Brazil", "Portuguese"),
    ("Egypt", "Arabic"),
    ("Germany", "German"),
    ("China", "Chinese"),
    ("Russia", "Russian"),
    ("Greece", "Greek"),
)
FILLERS: tuple[str, ...] = (
    "I", "grew", "up", "in", "then", "we", "moved", "and", "the", "years", "went", "by",
)  # fmt: skip
QUERY = "speak"

INFO = TaskInfo(
    name="delayed-recall",
    summary={
        "en": (
            "A country is named once, then many filler words follow, then the word 'speak'. "
            "At 'speak' the model must name the country's language, so it has to carry one "
            "fact across the whole gap."
        ),
        "zh": (
            "序列先出现一个国家名，随后是很长一段无关的填充词，最后出现“speak”。"
            "模型必须在“speak”处说出该国的语言，因此要把这一信息跨过整段间隔保存下来。"
        ),
    },
    look_at={
        "en": (
            "Find the memory cell: its input gate opens at the country and stays shut on the "
            "fillers, its forget gate stays near 1 across the gap, so its c holds a value that "
            "depends on the country until the query."
        ),
        "zh": (
            "找到记忆单元：它的输入门只在国家名处打开、在填充词处关闭，遗忘门在整个间隔中接近 1，"
            "因此它的 c 一直保持着与国家相关的数值，直到查询出现。"
        ),
    },
)


@dataclass
class DelayedRecall:
    """Sequences of (fillers, country, `gap` fillers, "speak"); target: the language.

    countries: K, how many country/language pairs (2..8). Training gaps are drawn uniformly
    from [min_gap, max_gap], one gap per batch; prefix: at most this many fillers before the
    country, drawn per row. Rows are left-padded with fillers to one length (at most `prefix`
    extra), so the query is the last step and a short gap also means a short sequence, as it
    does when a person types one.
    """

    countries: int = 4
    min_gap: int = 1
    max_gap: int = 50
    prefix: int = 4
    info: TaskInfo = field(default=INFO, init=False)
    target_kind: TargetKind = field(default="classes", init=False)

    def __post_init__(self) -> None:
        if not 2 <= self.countries <= len(PAIRS):
            raise ValueError(f"countries is {self.countries}, must be 2..{len(PAIRS)}")
        check_positive("min_gap", self.min_gap, 0)
        check_positive("max_gap", self.max_gap, self.min_gap)
        check_positive("prefix", self.prefix, 0)
        pairs = PAIRS[: self.countries]
        self.vocab: tuple[str, ...] | None = (
            tuple(c for c, _ in pairs) + tuple(lang for _, lang in pairs) + FILLERS + (QUERY,)
        )
        self.input_size = len(self.vocab)
        self.output_size = len(self.vocab)
        self.filler_ids = np.arange(2 * self.countries, 2 * self.countries + len(FILLERS))
        self.query_id = self.input_size - 1

    def country_id(self, k: int) -> int:
        return k

    def language_id(self, k: int) -> int:
        return self.countries + k

    def make(
        self,
        rng: np.random.Generator,
        batch_size: int,
        gap: int | None = None,
    ) -> tuple[Batch, np.ndarray, np.ndarray]:
        """A batch whose rows all have this `gap` (drawn from the training range when None).

        Returns (batch, country (B,) in 0..K-1, country_step (B,) where the country stands).
        """
        check_positive("batch_size", batch_size)
        if gap is None:
            gap = int(rng.integers(self.min_gap, self.max_gap + 1))
        check_positive("gap", gap, 0)
        gaps = np.full(batch_size, gap)
        prefixes = rng.integers(0, self.prefix + 1, size=batch_size)
        lengths = prefixes + gaps + 2
        T = int(lengths.max())
        ids = rng.choice(self.filler_ids, size=(T, batch_size))
        country = rng.integers(0, self.countries, size=batch_size)
        country_step = T - 2 - gaps
        rows = np.arange(batch_size)
        ids[country_step, rows] = country
        ids[T - 1, :] = self.query_id
        targets = np.zeros((T, batch_size), dtype=np.int64)
        targets[T - 1, :] = self.countries + country
        mask = np.zeros((T, batch_size), dtype=np.float64)
        mask[T - 1, :] = 1.0
        batch = Batch(x=one_hot(ids, self.input_size), targets=targets, mask=mask)
        return batch, country, country_step

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return self.make(rng, batch_size)[0]

    def encode(self, words: list[str]) -> np.ndarray:
        """Words -> (T, D) one-hot rows; unknown words are refused by name."""
        assert self.vocab is not None
        index = {w: i for i, w in enumerate(self.vocab)}
        unknown = [w for w in words if w not in index]
        if unknown:
            raise ValueError(f"word {unknown[0]!r} is not in the delayed-recall vocabulary")
        return one_hot(np.array([index[w] for w in words]), self.input_size)
