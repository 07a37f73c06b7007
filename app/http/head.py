"""HEAD requests answered like GET without the body (RFC 9110 section 9.3.2).

FastAPI's routes serve exactly the methods they list, so `HEAD /healthz` (what uptime
monitors and `curl -I` send) was a 405. Here a HEAD runs as the GET it stands for and only the
body is dropped: status and headers, Content-Length included, are the GET's. A path without
a GET still answers 405 with its Allow header.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
