import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.storage.lock import LOCK_FILE, RunLockedError, run_lock

BENCHMARKS = Path(__file__).resolve().parents[4] / "benchmarks"
HOLDER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from harness.storage.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def hold_in_another_process(folder: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), str(BENCHMARKS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_a_second_process_is_refused_naming_the_first(tmp_path: Path) -> None:
    holder = hold_in_another_process(tmp_path)
    try:
        with pytest.raises(RunLockedError) as error, run_lock(tmp_path):
            pass
        message = str(error.value)
        assert f"process {holder.pid} on " in message
        assert "another --output" in message
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_run_is_taken_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = hold_in_another_process(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with run_lock(tmp_path):
        record = json.loads((tmp_path / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid()
    printed = capsys.readouterr().out
    assert f"left by an ended run (process {holder.pid} on " in printed
    # A run that ended normally leaves nothing to take over.
    with run_lock(tmp_path):
        pass
    assert "Taking over" not in capsys.readouterr().out


def test_the_lock_is_released_when_the_block_ends(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        pass
    started = time.perf_counter()
    with run_lock(tmp_path):
        pass
    assert time.perf_counter() - started < 1
