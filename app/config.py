"""Settings, read once from the environment (prefix ``GATESCOPE_``)."""

import difflib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATESCOPE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: Path = Path("data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"  # json: one object a line (the image's)
    root_path: str = ""  # the path prefix a reverse proxy strips, e.g. /gatescope
    # Origins allowed to call the API from a browser: comma-separated or a JSON list; "*" for
    # any. Empty (the default): no CORS headers, so only same-origin pages can read answers.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Seconds requests in flight get to finish after SIGTERM (keep below docker stop's 10 s).
    shutdown_timeout_s: int = Field(default=8, ge=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        return value

    # Request limits: each breach is a 413 or 422 naming the field and the limit.
    max_steps: int = Field(default=4096, ge=1)
    max_input_size: int = Field(default=1024, ge=1)
    max_hidden_size: int = Field(default=1024, ge=1)
    max_layers: int = Field(default=4, ge=1)
    max_compute: int = Field(default=2_000_000_000, ge=1)  # T * H * (D + H) * layers
    # Numbers one trace may hold, T * H * layers * 9 (the most values a unit has per step):
    # what its memory and its answer grow with. 16M: (4096 steps, 256 units) fits twice.
    max_trace_values: int = Field(default=16_000_000, ge=1)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # Model store and API (app/store, app/api): weights of one model, the store's quota,
    # the length of names and vocabularies, and one WebSocket message.
    max_parameters: int = Field(default=16 * 1024 * 1024, ge=1)
    max_stored_models: int = Field(default=1000, ge=1)
    max_store_bytes: int = Field(default=4 * 1024**3, ge=1024)
    max_vocab_size: int = Field(default=4096, ge=1)
    max_token_length: int = Field(default=32, ge=1)
    max_name_length: int = Field(default=100, ge=1)
    max_ws_message_bytes: int = Field(default=64 * 1024, ge=256)

    # Hardening (app/http/security.py, app/http/ratelimit.py, app/http/guards.py).
    # Seconds a request may take before it is answered 504 (a stuck request frees its slot).
    request_timeout_s: float = Field(default=30.0, gt=0)
    # Trace/gradient requests computed at once per worker; more wait in line.
    compute_concurrency: int = Field(default=4, ge=1)
    # Seconds a request waits for a compute slot before a 503 with Retry-After.
    compute_queue_timeout_s: float = Field(default=10.0, gt=0)
    # Per-client token buckets (see rate_limit_key): off for `make run`, on in Docker.
    rate_limit_enabled: bool = False
    # Traces, gradients and WebSocket opens: tokens per second refilled, and the bucket size.
    rate_limit_trace_per_s: float = Field(default=20.0, gt=0)
    rate_limit_trace_burst: int = Field(default=40, ge=1)
    # Model uploads (POST /api/v1/models): tokens per second refilled, and the bucket size.
    rate_limit_upload_per_s: float = Field(default=0.2, gt=0)
    rate_limit_upload_burst: int = Field(default=5, ge=1)
    # Whom the buckets above count (app/http/clients.py): "client", each browser (an anonymous
    # signed cookie), API key (X-Gatescope-Key) or else address, with a higher ceiling per
    # address below; "address", the address alone (a classroom behind NAT is one client).
    rate_limit_key: Literal["client", "address"] = "client"
    # The ceiling for every client behind one address together (rate_limit_key=client): a
    # room of 100 each gets 2 traces a second when all trace at once, one client at most its
    # own 20, so no client can take more than a tenth of the room's.
    rate_limit_address_trace_per_s: float = Field(default=200.0, gt=0)
    rate_limit_address_trace_burst: int = Field(default=800, ge=1)
    rate_limit_address_upload_per_s: float = Field(default=2.0, gt=0)
    rate_limit_address_upload_burst: int = Field(default=100, ge=1)
    # New browser cookies handed out per address: a room arriving at once gets its burst; a
    # script reloading pages for fresh identities runs dry, then counts as its address.
    rate_limit_new_clients_per_s: float = Field(default=1.0, gt=0)
    rate_limit_new_clients_burst: int = Field(default=300, ge=1)
    # HMAC key of the cookies; unset, a random one kept in data_dir/session-secret.
    session_secret: SecretStr | None = Field(default=None, min_length=16)
    # Clients remembered at once; the least recently seen are forgotten beyond this.
    rate_limit_max_clients: int = Field(default=10_000, ge=1)
    # SQLite file through which the workers of one server share their buckets. `gatescope
    # serve` makes a temporary one for more than one worker; unset, each process keeps its own.
    rate_limit_state_file: Path | None = None
    # Redis through which the replicas of a course share their rate limits and training caps
    # (README "Course: several replicas"), e.g. redis://127.0.0.1:6379/0. Empty (the default):
    # each server keeps its own, as above. While Redis cannot be reached each replica falls
    # back to its own limits (logged once per outage) and tries again every
    # redis_retry_s seconds; no call to it waits longer than redis_timeout_s.
    redis_url: str = ""
    redis_timeout_s: float = Field(default=0.25, gt=0, le=10)
    redis_retry_s: float = Field(default=2.0, gt=0)
    # WebSocket messages a connection may send per second (bursts of ws_messages_burst);
    # faster senders are slowed down, not disconnected.
    ws_messages_per_s: float = Field(default=100.0, gt=0)
    ws_messages_burst: int = Field(default=200, ge=1)

    # Answers on the wire (app/http/compression.py): JSON answers of at least this many bytes
    # are gzip'd for clients that accept it (0: never), at this zlib level.
    gzip_min_bytes: int = Field(default=1400, ge=0)
    gzip_level: int = Field(default=1, ge=1, le=9)

    # Live training (WebSocket /api/v1/train, docs/train.md): runs one connection may race,
    # runs the whole process trains at once, the work one run and one client may spend
    # (updates * T * H * (D + H)), seconds a paused run may sit without a message, and the
    # bounds of a run's settings.
    train_runs_per_connection: int = Field(default=2, ge=1)
    train_max_runs: int = Field(default=10, ge=1)
    train_run_budget: int = Field(default=200_000_000, ge=1)
    train_client_budget: int = Field(default=1_000_000_000, ge=1)
    train_idle_s: float = Field(default=300.0, gt=0)
    train_max_hidden: int = Field(default=64, ge=1)
    train_max_batch: int = Field(default=128, ge=1)
    train_max_gap: int = Field(default=50, ge=1)
    train_max_steps: int = Field(default=5000, ge=1)
    # Models one connection may hold as "Open in explorer" copies (deleted when it closes).
    train_session_models: int = Field(default=4, ge=0)
    # How much lower than the server the training process runs (nice increment, 0-19).
    train_nice: int = Field(default=19, ge=0, le=19)
    # Whether it also runs in Linux's SCHED_IDLE class (only the CPU nothing else wants).
    train_sched_idle: bool = True

    # The engine's loop (app/engine/kernel.py): auto (numba's compiled kernel where it runs
    # and helps), numpy (always the reference loop) or numba (fail if it cannot run).
    kernel: Literal["auto", "numpy", "numba"] = "auto"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_problems() -> tuple[str | None, list[str]]:
    """(a one-line error for a bad GATESCOPE_* value or None, warnings for unknown names), from
    the process environment.

    pydantic's own report is a traceback naming the field (port), not the variable an operator
    set (GATESCOPE_PORT); a misspelled name (GATESCOPE_WORKER) would be ignored in silence.
    """
    environ = os.environ
    fields = {f"GATESCOPE_{name.upper()}" for name in Settings.model_fields}
    warnings = []
    for name in sorted(n for n in environ if n.upper().startswith("GATESCOPE_")):
        if name.upper() not in fields:
            close = difflib.get_close_matches(name.upper(), sorted(fields), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"{name} is not a Gatescope setting and is ignored{hint}")
    try:
        Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = "GATESCOPE_" + "_".join(str(p) for p in first["loc"][:1]).upper()
        shown = environ.get(variable, environ.get(variable.lower(), ""))
        return f"{variable}: {first['msg']} (got {shown!r})", warnings
    return None, warnings
