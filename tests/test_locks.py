import threading
import time
from pathlib import Path

from lightly_byel._locks import exclusive_lock


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
