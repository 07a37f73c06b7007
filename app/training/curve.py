"""The loss curve of a run, as JSON (always) and as a PNG (when matplotlib is installed).

matplotlib is the optional extra `train` (pip install 'gatescope[train]'): the service does
not need it, and a hand-made PNG writer would have no axis labels worth reading.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np

from app.training.loop import TrainResult


def _short(values: list[float]) -> list[float]:
    return [float(f"{v:.6g}") for v in values]  # 6 significant digits: a third of the bytes


def curve_json(result: TrainResult) -> dict[str, Any]:
    curve = result.curve.to_dict()
    curve["loss"] = _short(curve["loss"])
    curve["grad_norm"] = _short(curve["grad_norm"])
    return {"config": result.config.to_dict(), "seconds": round(result.seconds, 2), **curve}


def write_curve_json(result: TrainResult, path: Path) -> None:
    path.write_text(json.dumps(curve_json(result), separators=(",", ":")) + "\n")


def smooth(values: list[float], window: int) -> np.ndarray:
    """Running mean over `window` steps (shorter at the start)."""
    v = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    out: np.ndarray = (c[idx] - c[lo]) / (idx - lo)
    return out


def write_curve_png(result: TrainResult, path: Path, title: str) -> bool:
    """Loss per step (faint) and its running mean; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    curve = result.curve
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.plot(curve.step, curve.loss, color="#9ecae1", linewidth=0.6, label="loss per step")
    window = max(1, len(curve.step) // 50)
    if window > 1:
        ax.plot(curve.step, smooth(curve.loss, window), color="#08519c", linewidth=1.6,
                label=f"mean of {window} steps")  # fmt: skip
    if min(curve.loss, default=1.0) > 0 and max(curve.loss) / min(curve.loss) > 50:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy" if result.task.target_kind == "classes" else "squared error")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return True
