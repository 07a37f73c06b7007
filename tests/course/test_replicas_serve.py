"""Two `gatescope serve` replicas on one data folder and one real redis-server, as the compose
"course" profile runs them (one worker each here): a client's limits, the mint of new keys and
the training caps count both replicas together; with Redis gone each answers from its own
limits, never a 500, and says so once; when Redis is back, once more."""

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.sync.client import connect

from tests.course.conftest import RedisServer

pytestmark = pytest.mark.slow
TRACE = {"model": {"cell": "lstm", "input_size": 2, "hidden_size": 3}, "inputs": [[0.1, 0.2]]}
START = {"type": "start", "gap": 5, "hidden": 4, "steps": 50, "every": 5}


def course(launch: Any, redis_server: RedisServer, tmp_path: Path, **env: str) -> list[Any]:
    shared = {
        "GATESCOPE_WORKERS": "1",
        "GATESCOPE_RATE_LIMIT_ENABLED": "true",
        "GATESCOPE_REDIS_URL": redis_server.url,
        "GATESCOPE_REDIS_RETRY_S": "0.5",
        "GATESCOPE_LOG_FORMAT": "json",
        **env,
    }
    data = tmp_path / "volume"
    return [launch(shared, data_dir=data) for _ in range(2)]


def trace(url: str, key: str) -> int:
    res = httpx.post(f"{url}/api/v1/trace", json=TRACE, headers={"X-Gatescope-Key": key})
    return res.status_code


def test_one_clients_limit_counts_both_replicas(
    launch: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    one, two = course(launch, redis_server, tmp_path, GATESCOPE_RATE_LIMIT_TRACE_PER_S="0.01",
                      GATESCOPE_RATE_LIMIT_TRACE_BURST="4")  # fmt: skip
    codes = [trace((one, two)[k % 2].url, "student-7") for k in range(8)]
    assert codes == [200] * 4 + [429] * 4  # a bucket each would have let all 8 through
    assert trace(two.url, "student-8") == 200


def test_fresh_keys_draw_on_one_mint_for_both_replicas(
    launch: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    one, two = course(launch, redis_server, tmp_path,
                      GATESCOPE_RATE_LIMIT_TRACE_PER_S="0.01",
                      GATESCOPE_RATE_LIMIT_TRACE_BURST="2",
                      GATESCOPE_RATE_LIMIT_NEW_CLIENTS_PER_S="0.001",
                      GATESCOPE_RATE_LIMIT_NEW_CLIENTS_BURST="3")  # fmt: skip
    # a new key for every request, alternating replicas: three new clients are minted (each
    # its own bucket of 2), then new keys count as their address, whose bucket holds 2
    codes = [trace((one, two)[k % 2].url, f"fresh-{k}") for k in range(10)]
    assert codes == [200] * 5 + [429] * 5, codes
    assert trace(one.url, "fresh-0") == 200  # a minted key keeps its own bucket
    assert trace(two.url, "fresh-0") == 429


def test_redis_gone_means_local_limits_logged_once_and_never_a_500(
    launch: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    one, two = course(launch, redis_server, tmp_path, GATESCOPE_RATE_LIMIT_TRACE_PER_S="0.01",
                      GATESCOPE_RATE_LIMIT_TRACE_BURST="3")  # fmt: skip
    assert [trace(one.url, "k"), trace(two.url, "k")] == [200, 200]  # 1 left in Redis
    redis_server.kill()
    start = time.monotonic()
    codes = {r.url: [trace(r.url, "k") for _ in range(5)] for r in (one, two)}
    assert time.monotonic() - start < 5.0
    # each replica now counts alone, from a full bucket of 3
    assert codes == {one.url: [200] * 3 + [429] * 2, two.url: [200] * 3 + [429] * 2}
    assert httpx.get(f"{one.url}/readyz").status_code == 200
    redis_server.start()
    time.sleep(0.6)
    assert trace(one.url, "k") == 200 and trace(two.url, "k") == 200  # Redis's new bucket
    for replica in (one, two):
        logs = [r for r in replica.json_logs() if r.get("logger") == "gatescope.redis"]
        gone = [r for r in logs if "cannot be reached" in r["message"]]
        back = [r for r in logs if "answers again" in r["message"]]
        assert len(gone) == 1 and gone[0]["level"] == "warning", logs
        assert len(back) == 1, logs
        assert not [r for r in replica.json_logs() if r["level"] == "error"]


def _ws(url: str) -> Any:
    return connect(url.replace("http", "ws", 1) + "/api/v1/train", open_timeout=10)


def _start(ws: Any, cells: list[str]) -> dict[str, Any]:
    ws.send(orjson.dumps({**START, "cells": cells}).decode())
    answer: dict[str, Any] = orjson.loads(ws.recv(timeout=30))
    if answer["type"] == "ready":
        for _ in cells:  # then a snapshot of step 0 of each run
            assert orjson.loads(ws.recv(timeout=30))["type"] == "snapshot"
    return answer


def test_training_runs_count_the_whole_course(
    launch: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    one, two = course(launch, redis_server, tmp_path, GATESCOPE_TRAIN_MAX_RUNS="3")
    with _ws(one.url) as first, _ws(two.url) as second:
        assert _start(first, ["lstm", "gru"])["type"] == "ready"
        refused = _start(second, ["lstm", "rnn_tanh"])  # 2 + 2 > 3, on the other replica
        assert refused["type"] == "error" and refused["code"] == "server_full", refused
        assert "the course trains 2 runs" in refused["message"]
        assert _start(second, ["lstm"])["type"] == "ready"  # 2 + 1 fits
        first.close()  # its runs are given back
        time.sleep(0.5)
        assert _start(second, ["lstm", "rnn_tanh"])["type"] == "ready"
