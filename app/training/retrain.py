"""Retrain every shipped model from scratch: `python -m app.training.retrain [ID ...]`.

Runs the recorded command of each recipe (see recipes.py) into app/builtin_models, one after
another, and prints each model's metrics and training time.
"""

import sys
from pathlib import Path

from app.training.builtin import BUILTIN_DIR
from app.training.recipes import RECIPES
from app.training.run import train_and_write


def main(argv: list[str]) -> int:
    ids = argv or list(RECIPES)
    unknown = [i for i in ids if i not in RECIPES]
    if unknown:
        print(f"unknown model id {unknown[0]!r}; known: {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    out = Path(BUILTIN_DIR)
    shown = "app/builtin_models"  # as run from the repository root, like `make retrain-models`
    for model_id in ids:
        recipe = RECIPES[model_id]
        print(recipe.config.command(out=shown, model_id=model_id), flush=True)
        paths = train_and_write(
            recipe.config, out, model_id, progress=sys.stderr.isatty(), shown_out=shown
        )
        for path in paths:
            print(f"  wrote {path.relative_to(out.parent.parent)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
