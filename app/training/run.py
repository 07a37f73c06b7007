"""Train, measure, find the units worth looking at, write everything: one model, one call."""

from pathlib import Path

from app.training.config import TrainConfig
from app.training.curve import write_curve_json, write_curve_png
from app.training.export import metadata, write_model
from app.training.loop import TrainResult, train
from app.training.metrics import EVAL_SEED, evaluate
from app.training.recipes import RECIPES
from app.training.units import find_units

UNITS_SEED = EVAL_SEED + 1


def default_description(config: TrainConfig) -> dict[str, str]:
    return {
        "en": f"A {config.cell} with {config.hidden} hidden units trained on {config.task} "
        f"for {config.steps} steps (seed {config.seed}).",
        "zh": f"在 {config.task} 任务上训练 {config.steps} 步的 {config.cell}，"
        f"{config.hidden} 个隐藏单元（种子 {config.seed}）。",
    }


def train_and_write(
    config: TrainConfig,
    out: Path,
    model_id: str | None = None,
    progress: bool = False,
    shown_out: str | None = None,
) -> list[Path]:
    """Train config from scratch and write <id>.safetensors/.json/.loss.json/.loss.png.

    shown_out: how the recorded command names the output directory (default: out as given).
    """
    model_id = model_id or f"{config.task}-{config.cell}"
    result = train(config, evaluate=lambda t, m: evaluate(t, m, quick=True), progress=progress)
    return write_result(result, out, model_id, shown_out)


def write_result(
    result: TrainResult, out: Path, model_id: str, shown_out: str | None = None
) -> list[Path]:
    config = result.config
    recipe = RECIPES.get(model_id)
    if recipe is not None and recipe.config != config:
        recipe = None  # a different model under a shipped id: no borrowed description
    names = recipe.name if recipe else {"en": model_id, "zh": model_id}
    description = recipe.description if recipe else default_description(config)
    metrics = evaluate(result.task, result.model)
    units = find_units(result.task, result.model, UNITS_SEED)
    command = config.command(out=shown_out or str(out), model_id=model_id)
    meta = metadata(result, model_id, names, description, units, metrics, command)
    paths = [write_model(out, model_id, result, meta)]
    curve = out / f"{model_id}.loss.json"
    write_curve_json(result, curve)
    paths.append(curve)
    png = out / f"{model_id}.loss.png"
    if write_curve_png(result, png, f"{model_id}: {config.cell}, H={config.hidden}"):
        paths.append(png)
    return paths
