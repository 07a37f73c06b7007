"""Security headers on every HTTP response: what the browser may run, embed and leak.

The pages load scripts only from our own origin (``script-src 'self'``, no inline script,
no eval), so text a user typed can never become code even if it reached the DOM as HTML.
Styles allow ``'unsafe-inline'`` because the front end sets ``style`` attributes (the SVG
export inlines computed styles, KaTeX lays out formulas with them); inline CSS cannot run
script. The same policy covers /docs: its Swagger UI is vendored in static/ and started by
a module of ours, so no page needs a CDN or an inline script.
"""

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.http.guards import GuardsMiddleware
from app.http.ratelimit import RateLimitMiddleware

APP_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_HEADERS = [*_COMMON, (b"content-security-policy", APP_CSP.encode())]


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response; WebSocket and lifespan pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend((k, v) for k, v in _HEADERS if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security(app: FastAPI, settings: Settings) -> None:
    """Wires the guards, the rate limit (when enabled) and the headers, outermost last."""
    app.add_middleware(GuardsMiddleware, settings=settings)
    if settings.rate_limit_enabled:
        app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware)
