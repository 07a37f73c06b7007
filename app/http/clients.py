"""Who a request comes from, for the rate limit: a browser, an API client, or only an address.

A classroom sits behind one NAT address, so the address alone cannot tell its students
apart. Each browser gets an anonymous session cookie instead: a random id and its HMAC
(SHA-256, stdlib) under a server secret, nothing else; no account, no personal data. It is
HttpOnly (scripts cannot read it), SameSite=Lax, Secure when the request came over https
(directly, or through a proxy uvicorn trusts, whose X-Forwarded-Proto sets the scheme), and
it ends with the browser's session. It is set on page loads only, so an API client that
ignores cookies is still one client: API clients may send ``X-Gatescope-Key`` (any string
of theirs, kept only as a hash), else they are counted by their address.

A cookie that is not signed by the secret (forged, or from before a new secret) is ignored:
the request counts as its address's, and the next page load sets a fresh cookie. The secret
is ``session_secret`` or, unset, a random one kept in the data folder (``session-secret``),
made once by whichever worker or replica starts first, so all of them accept each other's
cookies.
"""

import base64
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Scope

from app.config import Settings

COOKIE = "gatescope_client"
KEY_HEADER = b"x-gatescope-key"
SECRET_FILE = "session-secret"
MAX_KEY_LENGTH = 256
_ID_BYTES = 16
_SIG_BYTES = 16

log = logging.getLogger("gatescope.ratelimit")


def load_secret(settings: Settings) -> bytes:
    """The signing secret: the setting, else the data folder's file (made once, atomically)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        return _own_secret(f"cannot read {path}: {err}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)  # fails if another process made it first: then use theirs
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
        return _read_secret(path)
    except OSError as err:
        return _own_secret(f"cannot write {path}: {err}")


def _read_secret(path: Path) -> bytes:
    text = path.read_text().strip()
    if len(text) < 16:
        raise OSError(f"{path} holds fewer than 16 characters")
    return text.encode()


def _own_secret(why: str) -> bytes:
    log.warning(
        "session secret: %s; this process signs cookies with a secret of its own, so other "
        "workers will not recognise them (set GATESCOPE_SESSION_SECRET)",
        why,
    )
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Signer:
    secret: bytes

    def _sign(self, ident: str) -> str:
        return _b64(hmac.new(self.secret, ident.encode(), hashlib.sha256).digest()[:_SIG_BYTES])

    def new_cookie(self) -> tuple[str, str]:
        """(the client id, the cookie's value)."""
        ident = _b64(secrets.token_bytes(_ID_BYTES))
        return ident, f"{ident}.{self._sign(ident)}"

    def verify(self, value: str) -> str | None:
        """The client id of a cookie value signed by this secret, else None."""
        ident, dot, sig = value.partition(".")
        if not dot or not ident or len(value) > 64:
            return None
        return ident if hmac.compare_digest(sig, self._sign(ident)) else None


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def cookie_value(scope: Scope) -> str | None:
    raw = header(scope, b"cookie")
    if raw is None:
        return None
    for part in raw.decode("latin-1").split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name == COOKIE:
            return value.strip().strip('"')
    return None


def address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def identify(scope: Scope, signer: Signer) -> tuple[str, bool]:
    """(the client's bucket name, whether it carries a valid cookie)."""
    key = header(scope, KEY_HEADER)
    if key and len(key) <= MAX_KEY_LENGTH:
        return "k:" + hashlib.sha256(key).hexdigest()[:32], False
    value = cookie_value(scope)
    ident = signer.verify(value) if value else None
    if ident is not None:
        return "c:" + ident, True
    return "a:" + address(scope), False


def is_page_load(scope: Scope) -> bool:
    """A GET of a page (not the API, static files or probes): where a browser gets its cookie."""
    if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
        return False
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if path.startswith(("/api/", "/static/", "/openapi")):
        return False
    return path not in ("/healthz", "/readyz", "/metrics", "/favicon.ico")


def set_cookie_header(value: str, scope: Scope) -> tuple[bytes, bytes]:
    secure = "; Secure" if scope.get("scheme") in ("https", "wss") else ""
    path = scope.get("root_path") or "/"
    text = f"{COOKIE}={value}; Path={path}; HttpOnly; SameSite=Lax{secure}"
    return b"set-cookie", text.encode()
