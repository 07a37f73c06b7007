"""What the classroom's load generator counts (bench/classroom_load.py), and the /healthz
prober that runs beside the students."""

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    students: list[dict[str, int]] = field(default_factory=list)
    resent: int = 0  # requests resent after a keep-alive race, as a browser does
    when: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    start: float = field(default_factory=time.monotonic)

    def took(self, kind: str, ms: float) -> None:
        """An answer of `kind` in `ms`, and when it came (seconds since the start)."""
        self.latencies[kind].append(round(ms, 2))
        self.when[kind].append(round(time.monotonic() - self.start, 2))

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 30:
            self.examples.append(f"{kind}: {what}"[:300])


async def prober(base: str, tally: Tally, stop: float) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                res = await client.get(base + "/healthz")
                if res.status_code == 200:
                    tally.took("healthz", (time.perf_counter() - t0) * 1000)
                else:
                    tally.error("healthz", f"HTTP {res.status_code}")
            except httpx.HTTPError as exc:
                tally.error("healthz", f"{type(exc).__name__} {exc}")
            await asyncio.sleep(0.5)
