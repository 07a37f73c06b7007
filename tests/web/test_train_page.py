"""/train renders the server's own defaults and bounds into the page (the JavaScript repeats
none of them), in both languages."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.train_schemas import TrainStart
from app.config import Settings
from app.main import create_app


def page_config(html: str) -> dict[str, Any]:
    blob = re.search(
        r'<script type="application/json" id="train-config">(.*?)</script>', html, re.S
    )
    assert blob is not None
    config: dict[str, Any] = json.loads(blob.group(1))
    return config


@pytest.mark.parametrize(("lang", "title"), [("en", "Watch it learn"), ("zh", "看它学习")])
def test_the_page_carries_trainstarts_defaults_and_the_settings_bounds(
    tmp_path: Path, lang: str, title: str
) -> None:
    settings = Settings(data_dir=tmp_path / "data", train_max_hidden=12, train_max_gap=30)
    with TestClient(create_app(settings)) as client:
        res = client.get(f"/train?lang={lang}")
    assert res.status_code == 200
    assert f"<h1>{title}</h1>" in res.text
    config = page_config(res.text)
    for name, field in TrainStart.model_fields.items():
        if name != "type":
            assert config["defaults"][name] == field.get_default(call_default_factory=True), name
    assert config["bounds"] == {"hidden": 12, "batch": 128, "gap": 30, "steps": 5000, "cells": 2}
    assert 'id="train-gap" name="gap" type="range" min="1" max="30"' in res.text
    assert "at most 12 hidden units" in res.text or "最多 12 个" in res.text
    assert config["cells"] == ["lstm", "gru", "rnn_tanh", "lstm_peephole", "lstm_coupled"]
    assert config["tasks"] == ["delayed-recall", "bracket-depth", "sine"]
