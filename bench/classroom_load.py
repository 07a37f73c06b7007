"""The students of the classroom benchmark: a load generator, run as its own process.

`python -m bench.classroom_load URL --students N --seconds S --out FILE` simulates N students
for S seconds from this machine's one address (127.0.0.1), each with its own cookie jar (one
httpx.AsyncClient per student, at most 6 connections, as a browser keeps per host), then
writes what it measured to FILE as JSON. bench/classroom.py starts it next to the server.

Students arrive over the first 30 s (a quarter of a short run). What a student does, with
think times between, as the explorer's page does it:
- a page load: GET /, then every static file the page references and every module those
  import (the browser's module graph), GET /api/v1/models, and the explorer's first trace of
  a random model. Each student keeps static files as a browser's cache does: a file whose
  answer gave a max-age is not asked for again while it is fresh (the pages link their files
  under a content version, cached for a year: app/web/assets.py); any other is revalidated
  with If-None-Match on each page load;
- traces in the explorer's format: POST /api/v1/trace with ``format: safetensors, dtype:
  float32`` (static/js/trace_wire.js), of built-in models (text of 10-80 characters for the
  text models, often edited a character at a time with a trace after each edit, as the
  explorer does with live mode off; 12-200 sine steps for the others) and of random models
  whose seed is changed; the explorer's If-None-Match for a repeated trace;
- live typing over the WebSocket /api/v1/step (app/api/step.py): open a text model, one
  message per typed character, now and then a backspace ("back"), then close;
- a few uploads: every tenth student uploads one small PyTorch state_dict as .safetensors
  and traces it afterwards;
- a training race: every tenth student (another tenth than the uploaders) races the /train
  page's default (LSTM against RNN over the WebSocket /api/v1/train) once to its end;
  "train" is the time from start to ready, a server_full refusal counts as refused.
Half-way through, the teacher says "everyone, open this link": each student, after what it
is doing, loads the page and traces the same text. A prober asks /healthz twice a second
throughout, as an orchestrator would (not a student).

A refused request is a 429, or a WebSocket handshake the limiter closes (HTTP 403). An error
is anything else that is not 2xx or 304: a 5xx, an unexpected 4xx, or a transport error.
"""

import argparse
import asyncio
import json
import random
import re
import resource
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx

from app.http.clients import COOKIE
from bench.classroom_tally import Tally, prober
from bench.load_wire import fresh_for, multipart, safetensors_bytes, sine
from bench.train_client import RaceTally, race

IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+\.js)["']""")
REF = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
WORDS = [
    "the",
    "cell",
    "keeps",
    "what",
    "it",
    "was",
    "told",
    "and",
    "forgets",
    "what",
    "no",
    "longer",
    "matters",
]
BROWSER_CONNECTIONS = 6


@dataclass
class Student:
    index: int
    base: str
    tally: Tally
    stop: float
    rng: random.Random
    client: httpx.AsyncClient
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    etags: dict[str, str] = field(default_factory=dict)  # static path or trace body -> ETag
    fresh_until: dict[str, float] = field(default_factory=dict)  # static path -> monotonic
    models: list[dict[str, Any]] = field(default_factory=list)
    uploaded: str | None = None
    trained: bool = False
    teacher: float = 0.0  # when the teacher asks the room to open a link (mid-run)
    told: bool = False
    arrival: float = 30.0  # students arrive over the first this many seconds

    async def request(
        self, kind: str, method: str, path: str, *, limited: bool = False, **kw: Any
    ) -> httpx.Response | None:
        """One request; tallied by kind; the answer when it is 2xx or 304, else None."""
        self.counts["requests"] += 1
        if limited:
            self.counts["limited_requests"] += 1
        t0 = time.perf_counter()
        try:
            try:
                res = await self.client.request(method, self.base + path, **kw)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # The server closed an idle keep-alive connection (uvicorn: after 5 s) as the
                # request went out on it (no answer, or a reset); a browser resends then, once,
                # on a new connection. A second failure is an error.
                self.tally.resent += 1
                t0 = time.perf_counter()
                res = await self.client.request(method, self.base + path, **kw)
        except httpx.HTTPError as exc:
            self.tally.error(kind, f"{type(exc).__name__} {exc}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        self.counts["bytes"] += res.num_bytes_downloaded
        if res.status_code == 429:
            self.counts["refused"] += 1
            self.tally.refused[kind] += 1
            return None
        if not (200 <= res.status_code < 300 or res.status_code == 304):
            self.tally.error(kind, f"HTTP {res.status_code} {path} {res.text[:200]!r}")
            return None
        self.tally.took(kind, ms)
        return res

    async def think(self, low: float, high: float) -> None:
        await asyncio.sleep(
            max(0.0, min(self.rng.uniform(low, high), self.stop - time.monotonic()))
        )

    # ---- a page load ------------------------------------------------------------------
    async def page_load(self) -> None:
        page = await self.request("page", "GET", "/")
        if page is None:
            return
        seen: set[str] = set()
        todo = sorted(set(REF.findall(page.text)))
        while todo:  # the module graph, level by level, up to 6 requests at once
            seen.update(todo)
            answers = await asyncio.gather(*(self.static(path) for path in todo))
            found: set[str] = set()
            for path, text in zip(todo, answers, strict=True):
                for ref in IMPORT.findall(text or ""):
                    found.add(urlparse(urljoin(path, ref)).path)
            todo = sorted(found - seen)
        listing = await self.request("models", "GET", "/api/v1/models")
        if listing is not None and not self.models:
            data = listing.json()
            self.models = data["models"] if isinstance(data, dict) else data
        # the explorer's first trace: a random model of the default sizes (state.js)
        model = {"cell": "lstm", "input_size": 2, "hidden_size": 4, "num_layers": 1, "seed": 0}
        await self.trace(model, {"inputs": sine(12, 2, 0)})

    async def static(self, path: str) -> str | None:
        if time.monotonic() < self.fresh_until.get(path, 0.0):  # the browser cache answers
            self.counts["cached"] += 1
            return self.etags.get(path + "#text")
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        res = await self.request("static", "GET", path, headers=headers)
        if res is None:
            return None
        if max_age := fresh_for(res.headers.get("cache-control", "")):
            self.fresh_until[path] = time.monotonic() + max_age
        if res.status_code == 304:
            return self.etags.get(path + "#text")
        if "etag" in res.headers:
            self.etags[path] = res.headers["etag"]
            if path.endswith(".js"):
                self.etags[path + "#text"] = res.text
        return res.text if path.endswith(".js") else None

    # ---- traces -----------------------------------------------------------------------
    async def trace(self, model: dict[str, Any], given: dict[str, Any]) -> None:
        body = {"model": model, **given, "dtype": "float32", "format": "safetensors"}
        text = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if text in self.etags:
            headers["If-None-Match"] = self.etags[text]
        res = await self.request("trace", "POST", "/api/v1/trace", limited=True,
                                 content=text, headers=headers)  # fmt: skip
        if res is not None and "etag" in res.headers:
            self.etags[text] = res.headers["etag"]

    def pick_model(self) -> dict[str, Any]:
        builtin = [m for m in self.models if m.get("source", "builtin") == "builtin"]
        if self.uploaded and self.rng.random() < 0.5:
            return {"id": self.uploaded, "input_size": 8, "vocab": None}
        return self.rng.choice(builtin) if builtin else {"id": "sine-lstm", "input_size": 1}

    async def explore(self) -> None:
        """Open a model (its info, as the explorer asks), trace an input, then edit it: the
        explorer traces again after every edit (250 ms after the last keystroke)."""
        if self.rng.random() < 0.25:  # a random model: the seed or the hidden size edited
            model: dict[str, Any] = {"cell": self.rng.choice(["lstm", "gru", "rnn_tanh"]),
                                     "input_size": 2, "hidden_size": self.rng.choice([4, 8, 16]),
                                     "num_layers": 1, "seed": 0}  # fmt: skip
            for seed in range(self.rng.randint(1, 6)):
                await self.trace({**model, "seed": seed}, {"inputs": sine(12, 2, 0)})
                await self.think(0.4, 1.5)
            return
        picked = self.pick_model()
        info = await self.request("model", "GET", f"/api/v1/models/{picked['id']}")
        vocab = (info.json().get("vocab") if info is not None else None) or picked.get("vocab")
        ref = {"id": picked["id"]}
        if not vocab:
            steps = self.rng.choice([12, 50, 100, 200])
            width = int(picked["input_size"])
            await self.trace(ref, {"inputs": sine(steps, width, self.rng.randint(0, 3))})
            return
        text = self.text(vocab, self.rng.randint(10, 80))
        await self.trace(ref, {"text": text})
        if max(len(t) for t in vocab) > 1 or self.rng.random() < 0.5:
            return
        for _ in range(self.rng.randint(3, 12)):  # typing in the text box, live mode off
            await self.think(0.3, 1.0)
            cut = self.rng.random() < 0.3 and len(text) > 5
            typed = [c for c in "aeinost " if c in vocab] or vocab
            text = text[:-1] if cut else text + self.rng.choice(typed)
            await self.trace(ref, {"text": text})

    def text(self, vocab: list[str], length: int) -> str:
        if max(len(t) for t in vocab) > 1:  # a word vocabulary: words separated by spaces
            words = [t for t in vocab if t.strip()]
            return " ".join(self.rng.choice(words) for _ in range(max(2, length // 8)))
        chars = set(vocab)
        out = " ".join(self.rng.choice(WORDS) for _ in range(length // 4 + 1))
        kept = "".join(c for c in out if c in chars) or "".join(vocab[:4])
        return kept[:length]

    # ---- live typing ------------------------------------------------------------------
    async def typing(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        model_id = self.rng.choice(["char-lm-lstm", "char-lm-lstm", "bracket-depth-lstm"])
        vocab = "()xy" if model_id.startswith("bracket") else None
        typed = (
            self.text(list(vocab), 30) if vocab else self.text(list("abcdefghiklmnoprstuw "), 30)
        )
        cookie = "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())
        url = self.base.replace("http://", "ws://") + "/api/v1/step"
        self.counts["requests"] += 1
        self.counts["limited_requests"] += 1
        t0 = time.perf_counter()
        try:
            async with connect(url, additional_headers={"Cookie": cookie}, open_timeout=30,
                               max_size=2**22) as ws:  # fmt: skip
                await ws.send(json.dumps({"type": "open", "model": {"id": model_id}}))
                ready = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                if ready.get("type") != "ready":
                    self.tally.error("ws_open", str(ready))
                    return
                self.tally.took("ws_open", (time.perf_counter() - t0) * 1000)
                for ch in typed[: self.rng.randint(8, 30)]:
                    if time.monotonic() >= self.stop:
                        break
                    back = self.rng.random() < 0.1
                    msg = {"type": "back"} if back else {"type": "step", "token": ch}
                    self.counts["requests"] += 1
                    t1 = time.perf_counter()
                    await ws.send(json.dumps(msg))
                    reply = await asyncio.wait_for(ws.recv(), timeout=30)
                    self.counts["bytes"] += len(reply)
                    if json.loads(reply).get("type") not in ("step", "back"):
                        self.tally.error("ws_step", str(reply)[:200])
                    else:
                        self.tally.took("ws_step", (time.perf_counter() - t1) * 1000)
                    await self.think(0.12, 0.4)  # typing speed: 2.5 to 8 characters a second
        except InvalidStatus as exc:
            if exc.response.status_code == 403:  # the limiter closes the handshake: refused
                self.counts["refused"] += 1
                self.tally.refused["ws_open"] += 1
            else:
                self.tally.error("ws_open", f"HTTP {exc.response.status_code}")
        except (OSError, TimeoutError, WebSocketException) as exc:
            self.tally.error("ws_step", f"{type(exc).__name__} {exc}")

    # ---- an upload --------------------------------------------------------------------
    async def upload(self) -> None:
        weights = safetensors_bytes(8, 16, 1000 + self.index)
        fields = {"cell": "lstm", "layout": "torch", "name": f"student {self.index}"}
        body, ctype = multipart(fields, f"student{self.index}.safetensors", weights)
        res = await self.request("upload", "POST", "/api/v1/models", limited=True,
                                 content=body, headers={"Content-Type": ctype})  # fmt: skip
        if res is not None:
            self.uploaded = res.json()["id"]

    # ---- a training race ---------------------------------------------------------------
    async def train(self) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())
        url = self.base.replace("http://", "ws://") + "/api/v1/train"
        tally = RaceTally()
        self.counts["requests"] += 1
        self.counts["limited_requests"] += 1
        await race(url, {"Cookie": cookie}, self.stop, tally, once=True)
        self.trained = True
        for ms in tally.ready_ms:
            self.tally.took("train", ms)
        if tally.refused:
            self.counts["refused"] += 1
            self.tally.refused["train"] += 1
        for what in tally.errors:
            self.tally.error("train", what)

    async def run(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.arrival))  # the room sits down
        await self.page_load()
        upload_at = time.monotonic() + self.rng.uniform(
            0, max(0.0, self.stop - time.monotonic()) / 2
        )
        while time.monotonic() < self.stop:
            await self.think(2, 8)
            if time.monotonic() >= self.stop:
                break
            if self.index % 10 == 0 and self.uploaded is None and time.monotonic() >= upload_at:
                await self.upload()
                continue
            if self.index % 10 == 5 and not self.trained and time.monotonic() >= upload_at:
                await self.train()
                continue
            if not self.told and time.monotonic() >= self.teacher:
                # "Everyone, open this link": the room loads the page and traces at once.
                self.told = True
                await self.page_load()
                await self.trace({"id": "char-lm-lstm"}, {"text": "to be or not to be"})
                continue
            roll = self.rng.random()
            if roll < 0.55:
                await self.explore()
            elif roll < 0.85:
                await self.typing()
            elif roll < 0.93:
                await self.request("models", "GET", "/api/v1/models")
            else:
                await self.page_load()  # a reload


async def classroom(base: str, students: int, seconds: float, seed: int) -> Tally:
    tally = Tally()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=BROWSER_CONNECTIONS)
    clients = [httpx.AsyncClient(timeout=60, limits=limits) for _ in range(students)]
    room = [
        Student(k, base, tally, stop, random.Random(seed * 1000 + k), c)
        for k, c in enumerate(clients)
    ]
    for s in room:
        s.teacher, s.arrival = stop - seconds / 2, min(30.0, seconds / 4)
    try:
        # bounded: every student stops by itself at `stop`; a hung request cannot hold it
        await asyncio.wait_for(
            asyncio.gather(prober(base, tally, stop), *(s.run() for s in room)),
            timeout=seconds + 120,
        )
        for s in room:  # whether the page load gave this student's jar its own cookie
            s.counts["cookie"] = int(COOKIE in s.client.cookies)
    finally:
        for c in clients:
            await c.aclose()
    tally.students = [dict(s.counts) for s in room]
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    wall = time.monotonic()
    tally = asyncio.run(classroom(args.url, args.students, args.seconds, args.seed))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "latencies": tally.latencies,
        "when": tally.when,
        "refused": tally.refused,
        "errors": tally.errors,
        "examples": tally.examples,
        "resent": tally.resent,
        "students": tally.students,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.monotonic() - wall,
    }
    with open(args.out, "w") as out:
        json.dump(report, out)


if __name__ == "__main__":
    main()
