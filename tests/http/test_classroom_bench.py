"""The classroom benchmark (bench/classroom.py) cannot rot: a short run of it, against a real
`gatescope serve` with the image's settings, gives a full report and no errors."""

import pytest

from bench.classroom import KINDS, run, server_quantiles, text_report
from bench.load_wire import fresh_for

METRICS = """\
# HELP gatescope_http_request_duration_seconds Time from request to the last byte
gatescope_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"} 90.0
gatescope_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/healthz"} 99.0
gatescope_http_request_duration_seconds_bucket{le="0.025",method="GET",route="/healthz"} 100.0
gatescope_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/healthz"} 100.0
gatescope_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/api/v1/trace"} 50.0
gatescope_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/api/v1/trace"} 98.0
gatescope_http_request_duration_seconds_bucket{le="0.25",method="POST",route="/api/v1/trace"} 200.0
gatescope_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/trace"} 200.0
"""


def test_server_side_quantiles_are_read_from_the_histogram_buckets() -> None:
    # healthz: 99 of 100 within 10 ms, so the 99th lies in (5, 10]; trace: 198 of 200 are
    # needed, only 98 within 100 ms, so (100, 250]
    assert server_quantiles(METRICS) == {
        "POST /api/v1/trace": "100-250 ms of 200",
        "GET /healthz": "5-10 ms of 100",
    }


@pytest.mark.slow
def test_a_short_classroom_run_reports_every_kind_and_no_errors() -> None:
    report = run(students=20, seconds=15, key="client")
    assert report["errors"] == 0, report["error_examples"]
    assert report["tracebacks_in_log"] == 0
    assert set(report["kinds"]) == set(KINDS)
    for kind in ("page", "static", "models", "model", "trace", "ws_open", "ws_step", "healthz"):
        stats = report["kinds"][kind]
        assert stats["ok"] > 0, kind
        assert 0 < stats["p50_ms"] <= stats["p99_ms"], kind
    # a page load takes the page's module graph, dozens of files, from the server or, once
    # fetched, from the student's cache (versioned files are fresh for a year); every student
    # loads the page twice (arriving, the teacher's link), so the cache answered some
    static = report["kinds"]["static"]["ok"] + report["static_from_cache"]
    assert static >= 20 * report["kinds"]["page"]["ok"]
    assert report["static_from_cache"] >= 20 * 20
    # every student got its own cookie; 20 students are far below their fair shares
    assert report["students_with_cookie"] == 20
    assert report["refused"] == 0 and report["max_refused_share"] == 0.0
    assert report["kinds"]["upload"]["ok"] >= 1  # students 0 and 10 upload
    assert report["kinds"]["train"]["ok"] >= 1  # students 5 and 15 race on /train
    assert report["peak_rss_mb"] > 100 and report["server_cpu_s"] > 0
    assert report["generator_cpu_s"] > 0 and 15 <= report["generator_wall_s"] < 60
    assert report["mb_per_student"]["min"] > 0.3  # d3 alone is 280 KB
    assert set(report["server_side_p99"]) == {"POST /api/v1/trace", "GET /healthz"}
    assert set(report["checks"]) == {
        "no errors",
        "no student refused more than 1%",
        "trace p99 <= 150 ms",
        "healthz p99 <= 50 ms",
    }
    assert report["checks"]["no errors"] and report["checks"]["no student refused more than 1%"]
    text = text_report(report)
    assert "| trace |" in text and "rate_limit_key=client" in text


def test_a_students_cache_keeps_an_answer_for_its_max_age_unless_told_to_revalidate() -> None:
    assert fresh_for("public, max-age=31536000, immutable") == 31536000.0
    assert fresh_for("Max-Age=60") == 60.0
    assert fresh_for("no-cache") == 0.0
    assert fresh_for("max-age=60, no-cache") == 0.0
    assert fresh_for("no-store, max-age=60") == 0.0
    assert fresh_for("") == 0.0  # no max-age: revalidate (no heuristic freshness)
    assert fresh_for("max-age=soon") == 0.0
