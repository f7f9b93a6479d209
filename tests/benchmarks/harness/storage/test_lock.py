import json
import os
import threading
import time
from pathlib import Path

import pytest
from harness.storage.lock import exclusive_lock, run_lock


def test_holders_take_turns(tmp_path: Path) -> None:
    events: list[str] = []

    def hold(name: str) -> None:
        with exclusive_lock(tmp_path / "build.lock"):
            events.append(f"{name} in")
            time.sleep(0.1)
            events.append(f"{name} out")

    threads = [threading.Thread(target=hold, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each holder leaves before the other enters.
    assert events in (
        ["a in", "a out", "b in", "b out"],
        ["b in", "b out", "a in", "a out"],
    )
    assert (tmp_path / "build.lock").is_file()


def test_a_blocking_error_inside_a_held_run_lock_is_not_called_a_lock(
    tmp_path: Path,
) -> None:
    # Only taking the lock may be reported as "in use"; an error of the work
    # inside the block passes through unchanged, and the lock is free after it.
    with pytest.raises(BlockingIOError, match="the block's own"), run_lock(tmp_path):
        raise BlockingIOError("the block's own")
    with run_lock(tmp_path):
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    assert (tmp_path / ".lock").read_text() == ""
