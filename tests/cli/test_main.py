import argparse
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import torch

from lightly_byel import __version__
from lightly_byel.cli import predict
from lightly_byel.cli.main import COMMANDS, main, parser


def test_the_command_is_installed_as_lightly_byel() -> None:
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["lightly-byel"] == "lightly_byel.cli.main:main"
    installed = Path(sys.executable).with_name("lightly-byel")
    done = subprocess.run(
        [str(installed), "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"lightly-byel {__version__}"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    for name, module in COMMANDS.items():
        assert f"{name} " in text and module.SUMMARY in text


@pytest.mark.parametrize("command", [[], ["predict"], ["export"]])
def test_help_answers_without_torch(command: list[str]) -> None:
    # The installed command reads its flags before it loads torch (seconds);
    # benchmarks/help_time.py measures the wall time.
    probe = (
        "import sys\n"
        "from lightly_byel.cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as stop:\n"
        "    print('TORCH', 'torch' in sys.modules, 'STATUS', stop.code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.rstrip().endswith("TORCH False STATUS 0"), done.stdout


def test_every_flag_has_help_and_shows_its_default() -> None:
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == set(COMMANDS)
    for name, command in commands.items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.option_strings)
    text = " ".join(commands["predict"].format_help().split())
    assert "images per batch (default: 64)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_flags_that_cannot_go_together_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["predict", "--model", "m.pt", "--images", str(tmp_path)]
    argv += ["--output", str(tmp_path / "p.csv"), "--smooth", "3"]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert "--smooth needs --format video or affwild2-expr" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv[:-2], "--batch-size", "0"])
    assert "--batch-size: must be at least 1, got 0" in capsys.readouterr().err


def test_options_hold_every_flag_of_predict() -> None:
    p = argparse.ArgumentParser()
    predict.add_arguments(p)
    flags = {a.dest for a in p._actions if not isinstance(a, argparse._HelpAction)}
    assert flags == set(predict.PredictOptions.__dataclass_fields__)


def test_python_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lightly_byel.cli", "export", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("usage: lightly-byel export")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_device_is_refused_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "faces").mkdir()
    (tmp_path / "out").mkdir()
    argv = ["predict", "--model", str(tmp_path / "m.pt")]
    argv += ["--images", str(tmp_path / "faces")]
    argv += ["--output", str(tmp_path / "out" / "p.csv"), "--device", "cuda"]
    assert main(argv) == 2
    assert "--device cuda: no CUDA device is available." in capsys.readouterr().err
    assert not (tmp_path / "out" / "p.csv").exists()
