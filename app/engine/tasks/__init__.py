"""Tasks made in code for training models whose gates mean something (see each module)."""

from app.engine.tasks.bracket_depth import BracketDepth
from app.engine.tasks.char_lm import FEATURES, CharLM, TextStreams
from app.engine.tasks.common import Batch, Task, TaskInfo, one_hot
from app.engine.tasks.delayed_recall import DelayedRecall
from app.engine.tasks.sine import Sine

TASK_NAMES: tuple[str, ...] = ("delayed-recall", "bracket-depth", "sine", "char-lm")

__all__ = [
    "FEATURES",
    "TASK_NAMES",
    "Batch",
    "BracketDepth",
    "CharLM",
    "DelayedRecall",
    "Sine",
    "Task",
    "TaskInfo",
    "TextStreams",
    "one_hot",
]
