"""Progress of a benchmark run: units done out of the total and the time left."""

import statistics
import time
from collections.abc import Callable


def duration(seconds: float) -> str:
    """A short human duration.

    Examples:
        >>> duration(42.4), duration(125), duration(7322)
        ('42 s', '2 min 05 s', '2 h 02 min')
    """
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Counts finished units and estimates the time the others will take.

    A unit still to run is expected to take as long as the finished units of its
    method took on average, or, before any of them finished, as long as all
    finished units took on average. Units read back from an earlier run count as
    done but say nothing about the time.

    Args:
        methods: The method of every unit of the run, in run order.
        clock: Seconds from an arbitrary start; ``time.perf_counter`` by default.

    Examples:
        >>> ticks = iter([0.0, 0.0, 30.0, 30.0, 30.0, 40.0, 40.0])
        >>> progress = Progress(["byol", "random-init", "byol"], lambda: next(ticks))
        >>> progress.start("byol")
        >>> progress.finish()
        >>> progress.status()
        '1/3 units done, 30 s elapsed, about 1 min 00 s left'
        >>> progress.start("random-init")
        >>> progress.finish()
        >>> progress.status()
        '2/3 units done, 40 s elapsed, about 30 s left'
    """

    def __init__(
        self, methods: list[str], clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.remaining = list(methods)
        self.total = len(methods)
        self.clock = clock
        self.started = clock()
        self.seconds: dict[str, list[float]] = {}
        self._unit: tuple[str, float] | None = None

    def start(self, method: str) -> None:
        """Marks the start of a unit of ``method``."""
        self._unit = (method, self.clock())

    def finish(self) -> None:
        """Marks the end of the unit started last."""
        if self._unit is None:
            raise RuntimeError("finish() without start()")
        method, began = self._unit
        self.seconds.setdefault(method, []).append(self.clock() - began)
        self.skip(method)
        self._unit = None

    def skip(self, method: str) -> None:
        """Counts a unit of ``method`` as done without timing it (read back)."""
        self.remaining.remove(method)

    def status(self) -> str:
        """``"k/n units done, T elapsed, about T left"``."""
        done = self.total - len(self.remaining)
        elapsed = duration(self.clock() - self.started)
        text = f"{done}/{self.total} units done, {elapsed} elapsed"
        left = self.estimate()
        return text if left is None else f"{text}, about {duration(left)} left"

    def estimate(self) -> float | None:
        """Seconds the remaining units should take; ``None`` before any timing."""
        every = [s for times in self.seconds.values() for s in times]
        if not every:
            return None if self.remaining else 0.0
        overall = statistics.fmean(every)
        return sum(
            statistics.fmean(self.seconds[m]) if m in self.seconds else overall
            for m in self.remaining
        )
