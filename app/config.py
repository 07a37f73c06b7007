"""Settings, read once from the environment (prefix ``GATESCOPE_``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATESCOPE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: Path = Path("data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    root_path: str = ""
    cors_origins: list[str] = Field(default_factory=list)

    # Request limits: each breach is a 413 or 422 naming the field and the limit.
    max_steps: int = Field(default=4096, ge=1)
    max_input_size: int = Field(default=1024, ge=1)
    max_hidden_size: int = Field(default=1024, ge=1)
    max_layers: int = Field(default=4, ge=1)
    max_compute: int = Field(default=2_000_000_000, ge=1)  # T * H * (D + H) * layers
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
