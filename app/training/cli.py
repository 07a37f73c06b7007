"""`gatescope train`: train one model from scratch and write it with its loss curve.

Wiring (app/cli.py): ``add_train_parser(sub)`` adds the `train` sub-command to the
sub-parsers object; its handler is set as ``func`` like the other commands. Or call
``train_main(argv)`` with the arguments after `train`.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.engine.spec import CELLS
from app.engine.tasks import TASK_NAMES
from app.training.config import TrainConfig

DEFAULTS = TrainConfig(task="sine", cell="lstm", hidden=1, steps=1)


def _add_options(parser: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    parser.add_argument("--task", required=True, choices=TASK_NAMES)
    parser.add_argument("--cell", required=True, choices=CELLS)
    parser.add_argument("--hidden", required=True, type=int, help="hidden units per layer")
    parser.add_argument("--steps", required=True, type=int, help="Adam steps")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of every random draw")
    parser.add_argument("--id", help="model id (default: TASK-CELL); names the files")
    parser.add_argument("--layers", type=int, default=d.layers)
    parser.add_argument("--batch", type=int, default=d.batch, help="sequences per step")
    parser.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    parser.add_argument(
        "--lr-floor", type=float, default=d.lr_floor, help="final lr as a share of --lr"
    )
    parser.add_argument("--clip", type=float, default=d.clip, help="max global gradient norm")
    parser.add_argument(
        "--forget-bias", type=float, default=d.forget_bias, help="added to the LSTM's f bias"
    )
    parser.add_argument(
        "--length", type=int, default=d.length, help="sequence / truncated-BPTT chunk length"
    )
    parser.add_argument("--max-gap", type=int, default=d.max_gap, help="delayed-recall")
    parser.add_argument(
        "--curriculum", type=int, default=d.curriculum, help="delayed-recall: steps to grow gaps"
    )
    parser.add_argument(
        "--carry", type=int, default=d.carry, help="char-lm: chunks before a reader jumps"
    )
    parser.add_argument("--eval-every", type=int, default=d.eval_every)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        task=args.task,
        cell=args.cell,
        hidden=args.hidden,
        steps=args.steps,
        seed=args.seed,
        layers=args.layers,
        batch=args.batch,
        lr=args.lr,
        lr_floor=args.lr_floor,
        clip=args.clip,
        forget_bias=args.forget_bias,
        length=args.length,
        max_gap=args.max_gap,
        curriculum=args.curriculum,
        carry=args.carry,
        eval_every=args.eval_every,
    )


def run_train(args: argparse.Namespace) -> int:
    """The `train` handler: returns the exit status, prints where the files went."""
    from app.training.run import train_and_write

    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"gatescope train: {exc}", file=sys.stderr)
        return 2
    paths = train_and_write(config, args.out, args.id, progress=not args.quiet)
    for path in paths:
        print(path)
    return 0


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `train` to an argparse sub-parsers object (from add_subparsers)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train a model on a built-in task",
        description="Train a recurrent model with BPTT and Adam; writes <id>.safetensors, "
        "<id>.json and the loss curve (<id>.loss.json, <id>.loss.png) into --out.",
    )
    _add_options(parser)
    parser.set_defaults(func=run_train)
    return parser


def train_main(argv: Sequence[str] | None = None) -> int:
    """`gatescope train ARGS` as a function: argv is what follows `train`."""
    parser = argparse.ArgumentParser(prog="gatescope train")
    _add_options(parser)
    return run_train(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(train_main())
