import json
from pathlib import Path
from types import ModuleType

import pytest


def test_our_lars_reads_nothing_back_and_every_optimizer_is_timed(
    lars_step: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "lars.json"
    argv = ["--backbone", "resnet18", "--steps", "1", "--rounds", "2"]
    assert lars_step.main([*argv, "--output", str(output)]) == 0
    written = json.loads(output.read_text())
    results = written["results"]
    assert list(results) == ["lightly", "ours, loop", "ours, foreach"]
    # Lightly's LARS reads norms back to the host, ours none.
    assert results["lightly"]["host_reads_per_step"] > 0
    assert results["ours, loop"]["host_reads_per_step"] == 0
    assert results["ours, foreach"]["host_reads_per_step"] == 0
    assert len(written["times_s"]["lightly"]) == 2
    assert results["lightly"]["ratio_to_lightly"]["median"] == 1.0
    assert "ours, foreach" in capsys.readouterr().out


def test_bad_flags_are_refused(
    lars_step: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        lars_step.main(["--rounds", "0"])
    assert "--rounds must be at least 1, got 0." in capsys.readouterr().err
