import json
import subprocess
import sys
from pathlib import Path

from app import __version__
from app.cli import main


def test_version_prints_the_package_version(capsys) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_train_subcommand_writes_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "m"
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "train",
        "--task",
        "sine",
        "--cell",
        "gru",
        "--hidden",
        "4",
        "--steps",
        "3",
        "--out",
        str(out),
        "--quiet",
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    meta = json.loads((out / "sine-gru.json").read_text())
    assert (meta["cell"], meta["hidden_size"], meta["task"]) == ("gru", 4, "sine")
    assert (out / "sine-gru.safetensors").stat().st_size > 0


def test_help_lists_serve_version_and_train(capsys) -> None:
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    text = capsys.readouterr().out
    assert all(word in text for word in ("serve", "version", "train"))


def test_serve_refuses_a_bad_setting_in_one_line_naming_the_variable(monkeypatch, capsys) -> None:
    monkeypatch.setenv("GATESCOPE_PORT", "-1")
    assert main(["serve"]) == 2  # exits before uvicorn starts
    err = capsys.readouterr().err
    # it was a pydantic traceback naming the field "port"
    assert err.strip() == (
        "gatescope: GATESCOPE_PORT: Input should be greater than or equal to 1 (got '-1')"
    )


def test_a_misspelled_setting_is_warned_about_with_the_likely_name(monkeypatch) -> None:
    from app.config import settings_problems

    monkeypatch.setenv("GATESCOPE_WORKER", "4")
    monkeypatch.setenv("GATESCOPE_PORT", "9000")
    error, warnings = settings_problems()
    assert error is None
    said = "GATESCOPE_WORKER is not a Gatescope setting and is ignored; did you mean"
    assert f"{said} GATESCOPE_WORKERS?" in warnings  # it was ignored in silence
    assert not any("GATESCOPE_PORT" in w for w in warnings)
