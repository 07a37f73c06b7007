"""char-lm: a character language model on a real text, read in chunks (truncated BPTT).

The model reads one character at a time and predicts the next one. Trained on a novel full of
dialogue, some units come to track things no one labelled: whether we are inside a quotation,
how far along the line we are, whether a word has just begun (Karpathy, Johnson and Fei-Fei,
"Visualizing and Understanding Recurrent Networks"). The feature functions here compute
those labels so that a unit's behaviour can be measured, not just looked at.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.engine.tasks.common import Batch, TargetKind, TaskInfo, check_positive, one_hot

INFO = TaskInfo(
    name="char-lm",
    summary={
        "en": (
            "The model reads a novel one character at a time and predicts the next character. "
            "Nobody tells it about words, lines or quotation marks; it has to discover them."
        ),
        "zh": (
            "模型逐个字符地阅读一部小说，并预测下一个字符。没有人告诉它什么是单词、行或引号，"
            "这些都要靠它自己发现。"
        ),
    },
    look_at={
        "en": (
            "Look for a unit that switches on after an opening quotation mark and off after "
            "the closing one, and for units that follow the position in the line or in a word."
        ),
        "zh": "寻找在开引号后打开、闭引号后关闭的单元，以及跟踪行内位置或单词内位置的单元。",
    },
)


def inside_quotes(text: str) -> np.ndarray:
    """(T,) 1.0 where, after reading that character, a "..." quotation is open.

    A blank line closes any open quotation: a speech running over paragraphs reopens its
    quotation mark at the start of each paragraph.
    """
    out = np.zeros(len(text), dtype=np.float64)
    inside, prev = False, ""
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        elif ch == "\n" and prev == "\n":
            inside = False
        out[t] = inside
        prev = ch
    return out


def position_in_line(text: str) -> np.ndarray:
    """(T,) characters since the last newline (0 at a newline)."""
    out = np.zeros(len(text), dtype=np.float64)
    pos = 0
    for t, ch in enumerate(text):
        pos = 0 if ch == "\n" else pos + 1
        out[t] = pos
    return out


def characters_since(text: str, marks: str, cap: int) -> np.ndarray:
    """(T,) characters read since the last one in `marks` (0 on a mark), counted up to cap."""
    out = np.zeros(len(text), dtype=np.float64)
    pos = 0
    for t, ch in enumerate(text):
        pos = 0 if ch in marks else min(pos + 1, cap)
        out[t] = pos
    return out


def position_in_word(text: str) -> np.ndarray:
    """(T,) characters since the last space or line break, counted up to 8 (0 on the space).

    Most words are shorter than 8 letters; past that the count says little about what comes.
    """
    return characters_since(text, " \n", 8)


def position_in_sentence(text: str) -> np.ndarray:
    """(T,) characters since the last '.', '!' or '?', counted up to 40."""
    return characters_since(text, ".!?", 40)


FEATURES: dict[str, Callable[[str], np.ndarray]] = {
    "inside_quotes": inside_quotes,
    "position_in_line": position_in_line,
    "position_in_word": position_in_word,
    "position_in_sentence": position_in_sentence,
}


@dataclass
class CharLM:
    """Next-character prediction on `text`; the last `held_out` share is kept for evaluation.

    The vocabulary is every character of the whole text, sorted. `length` is the chunk
    length: random windows for `sample`, consecutive chunks for `streams` (truncated BPTT).
    Text is evaluated in windows of `span` = carry * length characters from a zero state,
    the longest stretch a training reader goes without a reset.
    """

    text: str
    length: int = 100
    held_out: float = 0.1
    carry: int = 8  # chunks a reader's state is carried (see TextStreams); 0 = the whole text
    info: TaskInfo = field(default=INFO, init=False)
    target_kind: TargetKind = field(default="classes", init=False)

    def __post_init__(self) -> None:
        check_positive("length", self.length)
        check_positive("carry", self.carry, 0)
        if not 0.0 < self.held_out < 0.5:
            raise ValueError(f"held_out is {self.held_out}, must be in (0, 0.5)")
        split = int(len(self.text) * (1.0 - self.held_out))
        if split < 2 * (self.length + 1) or len(self.text) - split < self.length + 1:
            raise ValueError(
                f"text of {len(self.text)} characters is too short for chunks of {self.length}"
            )
        self.vocab: tuple[str, ...] | None = tuple(sorted(set(self.text)))
        self.input_size = len(self.vocab)
        self.output_size = len(self.vocab)
        self._index = {ch: i for i, ch in enumerate(self.vocab)}
        self.ids = self.encode_ids(self.text)
        self.train_ids = self.ids[:split]
        self.held_out_ids = self.ids[split:]
        self.held_out_text = self.text[split:]

    def encode_ids(self, text: str) -> np.ndarray:
        """(T,) int64 vocabulary ids; an unknown character is refused by position."""
        try:
            return np.array([self._index[ch] for ch in text], dtype=np.int64)
        except KeyError as exc:
            pos = next(i for i, ch in enumerate(text) if ch not in self._index)
            msg = f"character {exc.args[0]!r} at {pos} is not in the vocabulary"
            raise ValueError(msg) from None

    def window_batch(self, ids: np.ndarray, starts: np.ndarray, length: int) -> Batch:
        """Rows ids[s : s + length] as input and ids[s + 1 : s + length + 1] as targets."""
        idx = starts[None, :] + np.arange(length + 1)[:, None]  # (T + 1, B)
        chunk = ids[idx]
        return Batch(
            x=one_hot(chunk[:-1], self.input_size),
            targets=chunk[1:],
            mask=np.ones((length, len(starts)), dtype=np.float64),
        )

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """Random training windows, each read from a zero state."""
        check_positive("batch_size", batch_size)
        starts = rng.integers(0, len(self.train_ids) - self.length - 1, size=batch_size)
        return self.window_batch(self.train_ids, starts, self.length)

    @property
    def span(self) -> int:
        """Characters of text read from one zero state in evaluation."""
        return self.carry * self.length if self.carry else len(self.held_out_ids) // 4

    def streams(self, rng: np.random.Generator, batch_size: int) -> "TextStreams":
        """`batch_size` readers spread over the training text, for truncated BPTT."""
        return TextStreams(self, rng, batch_size, self.carry)

    def windows(self, text: str, width: int) -> tuple[np.ndarray, list[str]]:
        """text cut into consecutive windows of `width` characters (the rest dropped), each
        read from a zero state: ids (width, n) and the window texts."""
        n = len(text) // width
        if n < 1:
            raise ValueError(f"text of {len(text)} characters is shorter than a window of {width}")
        pieces = [text[k * width : (k + 1) * width] for k in range(n)]
        return np.stack([self.encode_ids(p) for p in pieces], axis=1), pieces

    def unigram_bits(self) -> float:
        """Held-out bits per character of the best context-free guess: training-text
        character frequencies, add-one smoothed."""
        counts = np.bincount(self.train_ids, minlength=self.input_size) + 1.0
        logp = np.log2(counts / counts.sum())
        return float(-logp[self.held_out_ids[1:]].mean())


class TextStreams:
    """Consecutive chunks from `batch_size` readers of the training text (truncated BPTT).

    Each call of `next` moves every reader on by `length` characters. A reader keeps going for
    `carry` chunks, then jumps to a random place and starts from a zero state; the readers
    jump at staggered times. So the state is carried across chunk borders (gradients are
    not), but never for longer than carry * length characters: the cells cannot drift over a
    whole book, and the model is evaluated the way it was trained (see `windows`).
    carry 0: never jump (readers wrap around at the end of the text).
    """

    def __init__(
        self, task: CharLM, rng: np.random.Generator, batch_size: int, carry: int = 0
    ) -> None:
        check_positive("batch_size", batch_size)
        check_positive("carry", carry, 0)
        self.task, self.rng, self.carry = task, rng, carry
        self.limit = len(task.train_ids) - task.length - 1  # the last valid start
        spacing = self.limit // batch_size
        self.pos = (np.arange(batch_size) * spacing + rng.integers(0, max(spacing, 1))) % self.limit
        self.age = np.arange(batch_size) % carry if carry else np.zeros(batch_size, np.int64)

    def next(self) -> tuple[Batch, np.ndarray]:
        """(batch, reset (B,) bool): reset rows start afresh and need a zero state."""
        L = self.task.length
        reset = self.pos > self.limit
        if self.carry:
            reset |= self.age >= self.carry
        jump = self.rng.integers(0, self.limit + 1, size=len(self.pos))
        self.pos = np.where(reset, jump, self.pos)
        self.age = np.where(reset, 0, self.age) + 1
        batch = self.task.window_batch(self.task.train_ids, self.pos, L)
        self.pos = self.pos + L
        return batch, reset
