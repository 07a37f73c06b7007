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
