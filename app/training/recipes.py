"""The shipped models: how each is trained (the exact `gatescope train` options) and what it
is for. `make retrain-models` runs every recipe from scratch into app/builtin_models."""

from dataclasses import dataclass

from app.training.config import TrainConfig


@dataclass(frozen=True)
class Recipe:
    id: str
    name: dict[str, str]  # {"en": ..., "zh": ...}
    config: TrainConfig
    description: dict[str, str]


def _recall(cell: str) -> TrainConfig:
    # same size, steps, batch, learning rate and curriculum for every cell: only the cell differs
    return TrainConfig("delayed-recall", cell, hidden=16, steps=2000, lr=0.01, curriculum=900)


def _sine(cell: str, steps: int = 1500) -> TrainConfig:
    # the gated cells share size, steps and learning rate; the plain RNN trains shorter
    return TrainConfig("sine", cell, hidden=16, steps=steps, lr=0.01)


_LIST = [
    Recipe(
        "delayed-recall-lstm",
        {"en": "Delayed recall (LSTM)", "zh": "延迟回忆（LSTM）"},
        _recall("lstm"),
        {
            "en": "Reads 'I grew up in France ... speak' and answers 'French' even 40 words "
            "later. One memory cell keeps the country: watch its forget gate stay near 1.",
            "zh": "读入“I grew up in France ... speak”，即使隔了 40 个词仍答出“French”。"
            "一个记忆单元保存着国家：留意它的遗忘门一直接近 1。",
        },
    ),
    Recipe(
        "delayed-recall-gru",
        {"en": "Delayed recall (GRU)", "zh": "延迟回忆（GRU）"},
        _recall("gru"),
        {
            "en": "The same task for a GRU of the same size. It answers right after 40 words "
            "too, but not the LSTM's way: no update gate z stays near 1. Its units keep the "
            "country by writing back nearly the same h at every filler word.",
            "zh": "同样的任务、同样大小的 GRU。隔了 40 个词它也能答对，但方式与 LSTM 不同："
            "没有哪个更新门 z 一直接近 1，它的单元在每个填充词处几乎写回同样的 h，以此保存国家。",
        },
    ),
    Recipe(
        "delayed-recall-rnn",
        {"en": "Delayed recall (plain RNN)", "zh": "延迟回忆（普通 RNN）"},
        _recall("rnn_tanh"),
        {
            "en": "A plain tanh RNN of the same size, trained with exactly the same budget. It "
            "never gets past guessing: right after the country its units tell the countries "
            "apart, but the difference fades within a few words, and so does the gradient that "
            "would teach it to keep it. The long-term dependency problem, seen.",
            "zh": "同样大小、训练预算完全相同的普通 tanh RNN。它始终只能瞎猜：刚读到国家名时，"
            "它的单元还能区分国家，但几个词之后差别就消失了，能教会它保存信息的梯度也随之消失。"
            "这就是长期依赖问题。",
        },
    ),
    Recipe(
        "bracket-depth-lstm",
        {"en": "Bracket depth (LSTM)", "zh": "括号深度（LSTM）"},
        TrainConfig("bracket-depth", "lstm", hidden=16, steps=1500, lr=0.01),
        {
            "en": "Says how deeply nested each character is. One cell counts: its c steps up "
            "at '(' and down at ')'.",
            "zh": "说出每个字符所处的嵌套深度。有一个单元在计数："
            "它的 c 遇 “(” 升一级，遇 “)” 降一级。",
        },
    ),
    Recipe(
        "sine-lstm",
        {"en": "Next value of a sine (LSTM)", "zh": "正弦波的下一个值（LSTM）"},
        _sine("lstm"),
        {
            "en": "Predicts the next value of a noisy sine wave of unknown frequency: a model "
            "with numbers, not tokens, as input.",
            "zh": "预测频率未知、带噪声的正弦波的下一个值：输入是数值而不是词元的模型。",
        },
    ),
    Recipe(
        "sine-gru",
        {"en": "Next value of a sine (GRU)", "zh": "正弦波的下一个值（GRU）"},
        _sine("gru"),
        {
            "en": "The sine task for a GRU of the LSTM's size and budget. Where the LSTM opens "
            "and closes separate forget and input gates, the GRU's one update gate z decides "
            "how much of the old h each unit keeps.",
            "zh": "与 LSTM 同样大小、同样训练预算的 GRU 做正弦任务。LSTM 用各自独立的遗忘门和"
            "输入门，GRU 则只用一个更新门 z 决定每个单元保留多少旧的 h。",
        },
    ),
    Recipe(
        "sine-lstm-peephole",
        {"en": "Next value of a sine (peephole LSTM)", "zh": "正弦波的下一个值（窥视孔 LSTM）"},
        _sine("lstm_peephole"),
        {
            "en": "The sine task for a peephole LSTM: its gates also see the cell state "
            "through one weight per unit (w_ci, w_cf on c_prev, w_co on the new c). Compare "
            "its gates with the plain LSTM's on the same wave.",
            "zh": "带窥视孔连接的 LSTM 做正弦任务：它的门还能通过每个单元的一个权重看到细胞状态"
            "（w_ci、w_cf 看 c_prev，w_co 看新的 c）。在同一条波上和普通 LSTM 的门比一比。",
        },
    ),
    Recipe(
        "sine-lstm-coupled",
        {"en": "Next value of a sine (coupled-gate LSTM)", "zh": "正弦波的下一个值（耦合门 LSTM）"},
        _sine("lstm_coupled"),
        {
            "en": "The sine task for an LSTM whose input gate is tied to its forget gate, "
            "i = 1 - f: a unit writes new content exactly as much as it forgets old.",
            "zh": "输入门与遗忘门绑定（i = 1 - f）的 LSTM 做正弦任务："
            "一个单元忘掉多少旧内容，就写入多少新内容。",
        },
    ),
    Recipe(
        "sine-rnn",
        {"en": "Next value of a sine (plain RNN)", "zh": "正弦波的下一个值（普通 RNN）"},
        _sine("rnn_tanh", steps=600),
        {
            "en": "A plain tanh RNN on the sine task, trained briefly. The wave needs only a "
            "short memory, so even an RNN without gates predicts it well. The cheapest model "
            "to retrain: the test suite retrains it to check that training is reproducible.",
            "zh": "在正弦任务上短时间训练的普通 tanh RNN。预测这种波只需要短期记忆，"
            "所以没有门的 RNN 也能做得不错。它是重新训练最便宜的模型："
            "测试会重新训练它，检验训练结果可复现。",
        },
    ),
    Recipe(
        "char-lm-lstm",
        {
            "en": "Pride and Prejudice, character by character (LSTM)",
            "zh": "《傲慢与偏见》逐字符预测（LSTM）",
        },
        TrainConfig("char-lm", "lstm", hidden=128, steps=3000, lr=0.005),
        {
            "en": "Predicts the next character of Jane Austen's Pride and Prejudice, read in "
            "chunks of 100 characters (truncated BPTT). Nobody told it about words or "
            "sentences, yet one unit counts the letters of the current word and another the "
            "characters since the last full stop.",
            "zh": "预测简·奥斯汀《傲慢与偏见》的下一个字符，"
            "以每段 100 个字符分块训练（截断 BPTT）。"
            "没有人告诉它什么是单词或句子，但有一个单元在数当前单词的字母，"
            "另一个在数自上一个句号以来的字符。",
        },
    ),
]

RECIPES: dict[str, Recipe] = {r.id: r for r in _LIST}
