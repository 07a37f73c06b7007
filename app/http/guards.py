"""Request guards: body size, time limit and compute slots, as one ASGI middleware.

- Body size: a request whose Content-Length or streamed body passes the limit is answered
  413 at once (uploads may use ``max_upload_bytes`` plus room for the form fields, every other
  request ``max_body_bytes``), before the body is parsed.
- Compute slots: at most ``compute_concurrency`` trace/gradient requests of a worker run at
  once; the rest wait in line, and one that waits past ``compute_queue_timeout_s`` gets a 503
  with Retry-After. This keeps the event loop (and /healthz) responsive under a flood of
  heavy traces: NumPy threads beyond the two cores only add GIL contention.
- WebSocket messages: each connection is throttled to ``ws_messages_per_s``.
- Time limit: a request that has not started its response after ``request_timeout_s`` is
  answered 504. Python cannot stop a thread, so a trace or gradient request whose body has
  arrived (it is computing) is not cancelled: it finishes in the background, still holding
  its slot, and its late answer is dropped; the compute budget in the settings bounds how long
  that can take. Anything else (a slow upload, a body still arriving, a request waiting for a
  slot) is cancelled.
- Shutdown: a request still running when the graceful shutdown timeout ends is answered 503
  ``shutting_down`` (when its response has not started) instead of uvicorn's bare 500.
"""

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

HEAVY_PATHS = ("/api/v1/trace", "/api/v1/gradients")
UPLOAD_PATH = "/api/v1/models"
FORM_ROOM = 1024 * 1024  # multipart boundaries and the small form fields beside the file


_Answer = Callable[[int, str, str, int | None], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised inside the app's receive() once the streamed body passes the limit."""


def _path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.rstrip("/")


def error_response(
    status: int, code: str, message: str, retry_after: int | None = None
) -> tuple[Message, Message]:
    body = orjson.dumps({"error": code, "message": message, "details": []})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


class GuardsMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        self._overdue: set[asyncio.Future[None]] = set()  # timed-out computations still running

    def body_limit(self, scope: Scope) -> tuple[int, str]:
        if scope.get("method") == "POST" and _path(scope) == UPLOAD_PATH:
            return (
                self.settings.max_upload_bytes + FORM_ROOM,
                f"max_upload_bytes {self.settings.max_upload_bytes} plus {FORM_ROOM} for the "
                "form fields",
            )
        return self.settings.max_body_bytes, "max_body_bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, self._throttled(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, limit_name = self.body_limit(scope)
        too_large = f"the request body is larger than the limit of {limit} bytes ({limit_name})"
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            for message in error_response(413, "body_too_large", too_large):
                await send(message)
            return

        state = {"started": False, "answered": False, "received": 0, "body_done": False}

        async def guarded_send(message: Message) -> None:
            if state["answered"]:
                return  # the guard already answered this request; drop the app's late reply
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        async def answer(status: int, code: str, message: str, retry: int | None = None) -> None:
            if state["started"] or state["answered"]:
                return
            state["answered"] = True
            for part in error_response(status, code, message, retry):
                await send(part)

        async def guarded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                state["body_done"] = not message.get("more_body", False)
                if state["received"] > limit:
                    await answer(413, "body_too_large", too_large)
                    raise BodyTooLarge(too_large)
            return message

        heavy = scope.get("method") == "POST" and _path(scope) in HEAVY_PATHS

        async def run() -> None:
            try:
                if heavy:
                    await self._run_in_slot(scope, guarded_receive, guarded_send, answer)
                else:
                    await self.app(scope, guarded_receive, guarded_send)
            except BodyTooLarge:
                pass

        task = asyncio.ensure_future(run())
        timeout = self.settings.request_timeout_s
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if task in done:
                task.result()
                return
            if state["started"]:
                await task  # the response is streaming: let it finish
                return
        except asyncio.CancelledError:
            # The server's graceful shutdown timed out and cancels what still runs: answer
            # 503 (a retry reaches a fresh server) and end here, so no traceback and no 500.
            self._give_up(task, computing=heavy and bool(state["body_done"]))
            await answer(
                503,
                "shutting_down",
                "the server is shutting down and this request did not finish within "
                f"shutdown_timeout_s ({self.settings.shutdown_timeout_s} s); retry it",
                1,
            )
            return
        self._give_up(task, computing=heavy and bool(state["body_done"]))
        await answer(
            504,
            "timeout",
            f"the request took longer than the limit of {timeout:g} s "
            "(request_timeout_s); try a shorter sequence or a smaller model",
        )

    def _give_up(self, task: "asyncio.Future[None]", computing: bool) -> None:
        task.add_done_callback(_ignore_result)
        if computing:
            # Computing in a worker thread, which cannot be stopped: cancelling would free the
            # slot while the thread runs on, and repeated timeouts would pile up threads.
            self._overdue.add(task)
            task.add_done_callback(self._overdue.discard)
        else:
            task.cancel()

    def _throttled(self, receive: Receive) -> Receive:
        """A WebSocket's messages reach the app at most ws_messages_per_s (bursts of
        ws_messages_burst): a client sending faster is slowed down, not cut off, and its
        unread frames wait in the transport's buffer, which applies backpressure."""
        rate = self.settings.ws_messages_per_s
        burst = float(self.settings.ws_messages_burst)
        bucket = {"tokens": burst, "stamp": time.monotonic()}

        async def receive_throttled() -> Message:
            message = await receive()
            if message["type"] != "websocket.receive":
                return message
            now = time.monotonic()
            tokens = min(burst, bucket["tokens"] + (now - bucket["stamp"]) * rate)
            bucket["stamp"] = now
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / rate)
                tokens = 1.0
                bucket["stamp"] = time.monotonic()
            bucket["tokens"] = tokens - 1.0
            return message

        return receive_throttled

    async def _run_in_slot(
        self, scope: Scope, receive: Receive, send: Send, answer: _Answer
    ) -> None:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:  # one set of slots per loop
            self._slots = asyncio.Semaphore(self.settings.compute_concurrency)
            self._slots_loop = loop
        wait = self.settings.compute_queue_timeout_s
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=wait)
        except TimeoutError:
            await answer(
                503,
                "busy",
                f"all {self.settings.compute_concurrency} compute slots stayed busy for "
                f"{wait:g} s (compute_concurrency); retry shortly",
                max(1, math.ceil(wait / 4)),
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


def _ignore_result(task: "asyncio.Future[None]") -> None:
    with contextlib.suppress(BaseException):
        task.result()
