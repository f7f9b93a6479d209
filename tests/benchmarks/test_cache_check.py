"""``benchmarks/cache_check.py`` on a tiny cache, run as a script."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cache_check.py"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_help_describes_the_script() -> None:
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python benchmarks/cache_check.py")
    assert "with its block checks and without" in done.stdout


def test_a_tiny_cache_is_timed_with_and_without_the_check(tmp_path: Path) -> None:
    output = tmp_path / "results" / "check.json"
    scratch = tmp_path / "scratch"
    done = _run(
        *("--images", "40", "--size", "16", "--repeats", "3", "--epoch"),
        *("--dir", str(scratch), "--output", str(output)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"results: {output}"
    figures = json.loads(output.read_text())
    settings = figures["settings"]
    # The cache's two files: 40 rows of 16 x 16 x 3 bytes, 40 int64 labels, headers.
    assert settings["images"] == 40 and settings["size"] == 16
    assert settings["checked_bytes"] == 40 * 16 * 16 * 3 + 40 * 8 + 2 * 128
    states = figures["states"]
    expected = ["warm", "cold"] if hasattr(os, "posix_fadvise") else ["warm"]
    assert list(states) == expected
    for state in states.values():
        times = state["times_s"]
        assert sorted(times) == [
            "checked",
            "checked_epoch",
            "unchecked",
            "unchecked_epoch",
        ]
        assert all(len(values) == 3 and min(values) > 0 for values in times.values())
        median = state["median_s"]
        assert state["ratio"] == median["checked"] / median["unchecked"]
    assert figures["environment"]["cpus"] == os.cpu_count()
    # The cache was temporary.
    assert list(scratch.iterdir()) == []
