import pytest
from harness.runs.progress import Progress, duration


def clock(*ticks: float) -> object:
    values = iter(ticks)
    return lambda: next(values)


def test_estimate_uses_each_method_s_own_time() -> None:
    # Ticks: start of the run, then a start and a finish per unit, then status.
    progress = Progress(
        ["byol", "supervised", "byol", "supervised"],
        clock(0, 0, 40, 40, 50, 50),  # type: ignore[arg-type]
    )
    assert progress.estimate() is None
    progress.start("byol")
    progress.finish()
    # supervised has not run yet: it is expected to take what byol took.
    assert progress.estimate() == 120
    progress.start("supervised")
    progress.finish()
    assert progress.estimate() == 50
    assert progress.status() == "2/4 units done, 50 s elapsed, about 50 s left"


def test_units_read_back_count_as_done_without_a_time() -> None:
    progress = Progress(["byel", "byel"], clock(0, 5, 5))  # type: ignore[arg-type]
    progress.skip("byel")
    assert progress.status() == "1/2 units done, 5 s elapsed"
    progress.skip("byel")
    assert progress.estimate() == 0.0
    with pytest.raises(RuntimeError, match="without start"):
        progress.finish()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (59.6, "1 min 00 s"), (3599, "59 min 59 s"), (3600, "1 h 00 min")],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text
