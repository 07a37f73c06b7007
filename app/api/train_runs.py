"""The runs of the live-training socket: settings checked against their limits, the runs a
process may hold, and the work each run and each client has spent (updates * T * H * (D + H)).
"""

import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.api.errors import ApiError
from app.api.train_schemas import TrainStart
from app.config import Settings
from app.engine.tasks import DelayedRecall
from app.training.config import TrainConfig
from app.training.loop import build_task
from app.training.pool import Chunk, TrainingPool


def check_limits(msg: TrainStart, settings: Settings) -> None:
    """Each bound a 422 naming the field and the setting that sets it."""
    bounds = [
        ("hidden", msg.hidden, settings.train_max_hidden, "train_max_hidden"),
        ("batch", msg.batch, settings.train_max_batch, "train_max_batch"),
        ("gap", msg.gap, settings.train_max_gap, "train_max_gap"),
        ("steps", msg.steps, settings.train_max_steps, "train_max_steps"),
        ("every", msg.every, settings.train_max_steps, "train_max_steps"),
        ("cells", len(msg.cells), settings.train_runs_per_connection, "train_runs_per_connection"),
    ]
    for name, value, limit, setting in bounds:
        if value > limit:
            raise ApiError(
                422,
                "limit_exceeded",
                f"{name} is {value}, the limit is {limit} ({setting})",
                name,
            )


def configs(msg: TrainStart) -> list[TrainConfig]:
    return [
        TrainConfig(
            task=msg.task,
            cell=cell,
            hidden=msg.hidden,
            steps=msg.steps,
            seed=msg.seed,
            batch=msg.batch,
            lr=msg.lr,
            max_gap=msg.gap,
            forget_bias=msg.forget_bias,
        )
        for cell in msg.cells
    ]


def update_cost(config: TrainConfig) -> int:
    """Work of one update: T * H * (D + H), T the longest sequence the task draws."""
    task = build_task(config)
    T = task.max_gap + task.prefix + 2 if isinstance(task, DelayedRecall) else task.length  # type: ignore[attr-defined]
    H = config.hidden
    return int(T) * H * (task.input_size + H)


def server_full(runs: int, settings: Settings, where: str = "it trains") -> ApiError:
    return ApiError(
        503,
        "server_full",
        f"the server is full: {where} {runs} runs and holds at most "
        f"{settings.train_max_runs} (train_max_runs); try again later",
        "cells",
    )


@dataclass
class Registry:
    """Runs held by this process and work spent per client (by its open connections).
    app/api/train_caps.py has the same for every replica of a course, in Redis."""

    runs: int = 0
    spent: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, n: int, settings: Settings) -> None:
        with self.lock:
            if self.runs + n > settings.train_max_runs:
                raise server_full(self.runs, settings)
            self.runs += n

    def give_back(self, n: int) -> None:
        with self.lock:
            self.runs -= n

    def spend(self, client: str, cost: int, limit: int) -> bool:
        """Adds cost to the client's spending unless that would pass limit (then False)."""
        with self.lock:
            if self.spent[client] + cost > limit:
                return False
            self.spent[client] += cost
            return True

    def spent_by(self, client: str) -> int:
        return self.spent[client]

    def heartbeat(self) -> None:
        """This process is alive and still holds its runs (a no-op for one process)."""


def registry_of(app_state: Any, settings: Settings) -> Registry:
    registry: Registry | None = getattr(app_state, "train_registry", None)
    if registry is None:
        from app.api.train_caps import make_registry

        registry = make_registry(settings)
        app_state.train_registry = registry
    return registry


@dataclass
class RunHandle:
    """One run of a race; the run itself lives in the training process (app/training/pool.py)."""

    key: str
    config: TrainConfig
    horizon: int
    cost: int  # work of one update
    steps_done: int = 0


@dataclass
class Race:
    """The runs of one connection, with the settings they were started from."""

    start: TrainStart
    runs: list[RunHandle]
    spent: list[int]  # work each run has spent
    stopped: list[bool]
    curves: list[list[list[Any]]]  # per run: [step, loss, held-out accuracy] of each snapshot

    @classmethod
    async def of(cls, msg: TrainStart, pool: TrainingPool) -> tuple["Race", list[str]]:
        """The runs made at step 0 in the pool, and their first snapshots."""
        runs, chunks = [], []
        try:
            for config in configs(msg):
                key = uuid.uuid4().hex
                horizon, chunk = await pool.create(key, config, None)
                runs.append(RunHandle(key, config, horizon, update_cost(config)))
                chunks.append(chunk)
        except BaseException:
            await pool.drop([r.key for r in runs])
            raise
        race = cls(msg, runs, [0] * len(runs), [False] * len(runs), [[] for _ in runs])
        return race, [race.note(k, c) for k, c in enumerate(chunks)]

    def note(self, k: int, chunk: Chunk) -> str:
        """Run k's snapshot message (JSON text, spliced from the child's: the server does not
        parse it); its step and its point of the training record kept."""
        run = self.runs[k]
        run.steps_done = chunk.steps_done
        self.spent[k] += chunk.done * run.cost
        self.curves[k].append(list(chunk.point))
        head = b'{"type":"snapshot","run":%d,' % k
        return (head + chunk.snapshot_json[1:]).decode()

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.runs]

    @property
    def finished(self) -> bool:
        pairs = zip(self.runs, self.stopped, strict=True)
        return all(s or r.steps_done >= r.horizon for r, s in pairs)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "run": k,
                "cell": r.config.cell,
                "step": r.steps_done,
                "horizon": r.horizon,
                "update_cost": r.cost,
            }
            for k, r in enumerate(self.runs)
        ]


def client_of(scope: Any, settings: Settings, app_state: Any) -> str:
    """Who the connection is, as the rate limit counts clients (app/http/clients.py): the API
    key, the browser's signed cookie, else the address."""
    from app.http.clients import Signer, address, identify, load_secret

    if settings.rate_limit_key == "address":
        return "a:" + address(scope)
    signer: Signer | None = getattr(app_state, "train_signer", None)
    if signer is None:
        signer = Signer(load_secret(settings))
        app_state.train_signer = signer
    return identify(scope, signer)[0]
