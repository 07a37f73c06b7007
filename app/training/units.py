"""Finding the units worth looking at, and measuring what they do on fresh data.

Each finder returns UnitNotes: which unit of which layer, which traced field shows it, a
sentence in Chinese and English, and the numbers that back the sentence (so tests can
re-measure them on other data and the UI can show them).
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.tasks import FEATURES, BracketDepth, CharLM, DelayedRecall, Sine, Task
from app.training.metrics import RECALL_GAP, trace
from app.training.model import Model

# What the unit finders' kinds are called in the UI, in English and Chinese.
KIND_LABELS: dict[str, dict[str, str]] = {
    "memory": {"en": "memory", "zh": "记忆"},
    "fading": {"en": "fading memory", "zh": "渐褪的记忆"},
    "counter": {"en": "counter", "zh": "计数"},
    "value": {"en": "value", "zh": "数值"},
    "slope": {"en": "slope", "zh": "斜率"},
    "position_in_line": {"en": "position in the line", "zh": "行内位置"},
    "position_in_word": {"en": "position in the word", "zh": "词内位置"},
    "position_in_sentence": {"en": "position in the sentence", "zh": "句内位置"},
    "inside_quotes": {"en": "inside quotes", "zh": "引号内"},
}


@dataclass
class UnitNote:
    layer: int
    unit: int
    field: str
    what: dict[str, str]
    measured: dict[str, float] = dataclasses.field(default_factory=dict)
    kind: str = ""  # which finder made it: memory, counter, inside_quotes, ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "unit": self.unit,
            "field": self.field,
            "kind": self.kind,
            "label": KIND_LABELS.get(self.kind, {"en": self.kind, "zh": self.kind}),
            "what": self.what,
            "measured": self.measured,
        }


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between a (N,) and every column of b (N, H); 0 for a constant column."""
    a = a - a.mean()
    b = b - b.mean(axis=0)
    denom = np.sqrt((a @ a) * (b * b).sum(axis=0))
    r: np.ndarray = np.divide(a @ b, denom, out=np.zeros(b.shape[1]), where=denom > 0)
    return r


def class_separation(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Share of the variance of each column of values (N, H) explained by labels (N,)."""
    total = values.var(axis=0)
    between = np.zeros_like(total)
    for k in np.unique(labels):
        rows = values[labels == k]
        between += len(rows) / len(values) * (rows.mean(axis=0) - values.mean(axis=0)) ** 2
    share: np.ndarray = np.divide(between, total, out=np.zeros_like(total), where=total > 0)
    return share


def recall_memory(
    task: DelayedRecall, model: Model, rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    """Per unit, on n sequences with the test gap: how well the state just before the query
    tells the countries apart, and (LSTM family) the gates across the gap."""
    batch, country, country_step = task.make(rng, n, gap=RECALL_GAP)
    tr = trace(model, batch.x)
    fields = tr.layers[-1]
    at = int(country_step[0])  # the same step in every row when the gap is fixed
    T = batch.x.shape[0]
    gap = slice(at + 1, T - 1)
    state = fields["c"] if "c" in fields else fields["h"]
    out = {
        "separation": class_separation(state[T - 2], country),
        "separation_after_country": class_separation(state[at], country),
        "country_step": np.array(at),
    }
    if "f" in fields and "i" in fields:
        out["f_min_gap"] = fields["f"][gap].mean(axis=1).min(axis=0)  # (H,)
        i_mean = fields["i"].mean(axis=1)  # (T, H)
        out["i_peak_step"] = i_mean[: T - 1].argmax(axis=0)  # up to the query, not at it
        out["i_at_country"] = i_mean[at]
        out["i_max_gap"] = i_mean[gap].max(axis=0)
    if "z" in fields:
        out["z_min_gap"] = fields["z"][gap].mean(axis=1).min(axis=0)
        h_prev = fields["h"][at : T - 2]  # h_{t-1} for the steps of the gap
        out["n_rewrite_gap"] = np.abs(fields["n"][gap] - h_prev).mean(axis=(0, 1))
    return out


def _note(kind: str, unit: int, field_: str, en: str, zh: str, **measured: float) -> UnitNote:
    return UnitNote(0, unit, field_, {"en": en, "zh": zh}, dict(measured), kind)


def find_recall_units(
    task: DelayedRecall, model: Model, rng: np.random.Generator
) -> list[UnitNote]:
    m = recall_memory(task, model, rng, 500)
    sep = m["separation"]
    good = (
        (m["f_min_gap"] >= 0.9) & (m["i_peak_step"] == m["country_step"])
        if "f_min_gap" in m
        else np.zeros(model.hidden_size, dtype=bool)
    )
    if good.any():
        # a clean memory: written at the country (input gate open there, shut in the gap)
        # and telling the countries apart from the moment it is written
        score = m["separation_after_country"] * (m["i_at_country"] - m["i_max_gap"])
        unit = int(np.argmax(np.where(good, score, -np.inf)))
        return [
            _note(
                "memory",
                unit,
                "c",
                "Memory cell: its input gate opens at the country, its forget gate stays near 1 "
                "over the filler words, so its c still tells the countries apart at 'speak'.",
                "记忆单元：输入门在国家名处打开，遗忘门在填充词上保持接近 1，"
                "所以到“speak”时它的 c 仍能区分不同国家。",
                separation=float(sep[unit]),
                separation_after_country=float(m["separation_after_country"][unit]),
                f_min_gap=float(m["f_min_gap"][unit]),
                i_at_country=float(m["i_at_country"][unit]),
                i_max_gap=float(m["i_max_gap"][unit]),
            )
        ]
    unit = int(np.argmax(sep * m["separation_after_country"]))
    if "z_min_gap" in m:
        kept = m["z_min_gap"] >= 0.9
        if kept.any():  # a conveyor belt: z keeps the old h
            unit = int(np.argmax(np.where(kept, sep, -1.0)))
            en = (
                "Memory unit: its update gate z stays near 1 over the filler words (keep the "
                "old h), so its h still tells the countries apart at 'speak'."
            )
            zh = (
                "记忆单元：更新门 z 在填充词上保持接近 1（保留旧的 h），"
                "所以到“speak”时它的 h 仍能区分不同国家。"
            )
        else:  # an attractor: n writes back what h already was
            en = (
                "Memory unit: its h still tells the countries apart at 'speak', although its "
                "update gate z does not stay near 1: at each filler word the candidate n writes "
                "back almost the same value, so the memory is kept by rewriting it."
            )
            zh = (
                "记忆单元：到“speak”时它的 h 仍能区分不同国家，但它的更新门 z 并没有一直接近 1："
                "每遇到一个填充词，候选值 n 都写回几乎相同的数值，记忆是靠不断重写保存下来的。"
            )
        return [
            _note(
                "memory",
                unit,
                "h",
                en,
                zh,
                separation=float(sep[unit]),
                separation_after_country=float(m["separation_after_country"][unit]),
                z_min_gap=float(m["z_min_gap"][unit]),
                n_rewrite_gap=float(m["n_rewrite_gap"][unit]),
            )
        ]
    unit = int(np.argmax(m["separation_after_country"]))
    return [
        _note(
            "fading",
            unit,
            "h",
            "The unit that best tells the countries apart right after the country: its h "
            "depends on the country there, but over the gap that difference fades away.",
            "刚读到国家名时最能区分国家的单元：此时它的 h 取决于国家，"
            "但经过间隔后这种差别逐渐消失。",
            separation=float(sep[unit]),
            separation_after_country=float(m["separation_after_country"][unit]),
        )
    ]


def find_counter(task: BracketDepth, model: Model, rng: np.random.Generator) -> list[UnitNote]:
    batch, depth = task.make(rng, 300)
    fields = trace(model, batch.x).layers[-1]
    name = "c" if "c" in fields else "h"
    values = fields[name].reshape(-1, model.hidden_size)
    r = correlation(depth.reshape(-1).astype(np.float64), values)
    unit = int(np.argmax(np.abs(r)))
    return [
        _note(
            "counter",
            unit,
            name,
            f"Counter: its {name} moves one notch at every bracket, up for one kind and down "
            "for the other, and holds still on letters, so it follows the depth.",
            f"计数单元：它的 {name} 每遇到一个括号就移动一格（一种括号向上、另一种向下），"
            "遇到字母保持不变，因此跟踪着嵌套深度。",
            r_depth=float(r[unit]),
        )
    ]


def find_sine_units(task: Sine, model: Model, rng: np.random.Generator) -> list[UnitNote]:
    batch, _ = task.make(rng, 200)
    h = trace(model, batch.x).layers[-1]["h"][10:].reshape(-1, model.hidden_size)
    value = batch.x[10:, :, 0].reshape(-1)
    slope = (batch.targets - batch.x)[10:, :, 0].reshape(-1)
    r_value = correlation(value, h)
    r_slope = correlation(slope, h)
    u_value = int(np.argmax(np.abs(r_value)))
    r_slope[u_value] = 0.0
    u_slope = int(np.argmax(np.abs(r_slope)))
    return [
        _note(
            "value",
            u_value,
            "h",
            "Follows the wave itself: its h rises and falls with the current value.",
            "跟随波形本身：它的 h 随当前值一起升降。",
            r_value=float(r_value[u_value]),
        ),
        _note(
            "slope",
            u_slope,
            "h",
            "Follows where the wave is heading: its h tracks the step to the next value, a "
            "quarter period ahead of the wave, like a cosine beside a sine.",
            "跟随波形的走向：它的 h 跟踪到下一个值的变化量，比波形超前四分之一周期，"
            "就像正弦旁边的余弦。",
            r_slope=float(r_slope[u_slope]),
        ),
    ]


CHAR_TEXTS = {
    "inside_quotes": (
        "Quote detector: switches on after an opening quotation mark and off after the closing "
        "one.",
        "引号检测单元：开引号之后打开，闭引号之后关闭。",
    ),
    "position_in_line": (
        "Line position: changes steadily along the line and jumps back at each new line, "
        "which helps predict where the line break comes.",
        "行内位置单元：沿着一行稳定变化，每到新的一行就跳回，帮助预测何时换行。",
    ),
    "position_in_word": (
        "Word position: counts the characters since the last space, so it knows how far "
        "into the current word the model is, and resets at each space.",
        "词内位置单元：数着自上一个空格以来读了几个字符，知道当前单词读到了哪里，遇到空格就复位。",
    ),
    "position_in_sentence": (
        "Sentence position: counts the characters since the last full stop, question or "
        "exclamation mark, a slow clock that restarts with every sentence.",
        "句内位置单元：数着自上一个句号、问号或感叹号以来的字符数，像一只随每个句子重新开始的慢钟。",
    ),
}


def char_unit_scores(task: CharLM, model: Model, text: str) -> dict[str, np.ndarray]:
    """For each feature and field (c, h): the correlation of every unit with the feature,
    over `text` read in windows of task.span characters from a zero state."""
    from app.engine.tasks import one_hot

    ids, pieces = task.windows(text, task.span)
    fields = trace(model, one_hot(ids, task.input_size)).layers[-1]
    scores: dict[str, np.ndarray] = {}
    for name, feature in FEATURES.items():
        label = np.stack([feature(p) for p in pieces], axis=1).reshape(-1)
        for f in ("c", "h"):
            if f in fields:
                scores[f"{name}/{f}"] = correlation(label, fields[f].reshape(-1, model.hidden_size))
    return scores


CHAR_PROBE = 40_000  # characters at the end of the training text used to pick the units


def find_char_units(task: CharLM, model: Model, min_r: float = 0.5) -> list[UnitNote]:
    """The best unit for each feature, listed when |r| >= min_r. Units are picked on the last
    CHAR_PROBE characters of the training text, so the held-out text stays a fair test."""
    probe = task.text[len(task.train_ids) - CHAR_PROBE : len(task.train_ids)]
    scores = char_unit_scores(task, model, probe)
    notes = []
    for name, (en, zh) in CHAR_TEXTS.items():
        best = max(
            (
                (key, int(np.argmax(np.abs(r))), r)
                for key, r in scores.items()
                if key.startswith(name + "/")
            ),
            key=lambda item: abs(item[2][item[1]]),
        )
        key, unit, r = best
        if abs(r[unit]) >= min_r:
            notes.append(_note(name, unit, key.split("/")[1], en, zh, r=float(r[unit])))
    return notes


def find_units(task: Task, model: Model, seed: int) -> list[UnitNote]:
    rng = np.random.default_rng(seed)
    if isinstance(task, DelayedRecall):
        return find_recall_units(task, model, rng)
    if isinstance(task, BracketDepth):
        return find_counter(task, model, rng)
    if isinstance(task, Sine):
        return find_sine_units(task, model, rng)
    assert isinstance(task, CharLM)
    return find_char_units(task, model)
