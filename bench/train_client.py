"""A learner at /train, as the load benchmarks play one: start a race over the WebSocket
/api/v1/train, play it to the end, and start again until told to stop."""

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RaceTally:
    ready_ms: list[float] = field(default_factory=list)  # start -> ready
    snapshots: int = 0
    updates: int = 0  # Adam updates streamed back, summed over runs
    finished: int = 0
    refused: int = 0  # server_full and the limiter's closed handshakes
    errors: list[str] = field(default_factory=list)


async def race(
    url: str,
    headers: dict[str, str],
    stop: float,
    tally: RaceTally,
    start: dict[str, Any] | None = None,
    once: bool = False,
    on_snapshot: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Race until `stop` (time.monotonic) or, with once, for one race; never raises."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, WebSocketException

    message = json.dumps(start or {"type": "start"})
    try:
        async with connect(url, additional_headers=headers, open_timeout=30,
                           max_size=2**24) as ws:  # fmt: skip
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                await ws.send(message)
                ready = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                if ready.get("code") == "server_full":
                    tally.refused += 1
                    return
                if ready.get("type") != "ready":
                    tally.errors.append(str(ready)[:200])
                    return
                tally.ready_ms.append((time.perf_counter() - t0) * 1000)
                steps = {r["run"]: 0 for r in ready["runs"]}
                await ws.send(json.dumps({"type": "play"}))
                while time.monotonic() < stop:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                    kind = msg.get("type")
                    if kind == "snapshot":
                        tally.snapshots += 1
                        tally.updates += msg["step"] - steps[msg["run"]]
                        steps[msg["run"]] = msg["step"]
                        if on_snapshot is not None:
                            on_snapshot(msg)
                    elif kind == "finished":
                        tally.finished += 1
                        break
                    elif kind in ("stopped", "error"):
                        tally.errors.append(str(msg)[:200])
                        return
                if once:
                    return
    except InvalidStatus as exc:
        if exc.response.status_code in (403, 429):
            tally.refused += 1
        else:
            tally.errors.append(f"HTTP {exc.response.status_code}")
    except (OSError, TimeoutError, WebSocketException) as exc:
        tally.errors.append(f"{type(exc).__name__} {exc}")
