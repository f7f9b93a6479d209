import json
from pathlib import Path
from types import ModuleType

import pytest


def test_help_times_are_measured_and_written(
    help_time: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert help_time.main(["--repeats", "1", "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    written = json.loads((tmp_path / "help_time.json").read_text())
    assert set(written["seconds"]) == set(help_time.COMMANDS)
    for name, seconds in written["seconds"].items():
        assert len(seconds) == 1 and seconds[0] > 0, name
        assert f"| `{name}` | " in printed
    assert (tmp_path / "help_time.md").read_text() in printed


def test_a_failing_command_is_reported(help_time: ModuleType) -> None:
    with pytest.raises(RuntimeError, match="failed"):
        help_time.wall_time([help_time.INSTALLED, "no-such-command"])
