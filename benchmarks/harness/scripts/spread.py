"""The spread of repeated measurements: median, quartiles and range."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Median, quartiles and range of repeated measurements.

    Quartiles are inclusive (linear interpolation between the measurements), so
    that they lie within the range even for a handful of them.

    Attributes:
        median: The middle value.
        q1: The first quartile.
        q3: The third quartile.
        low: The smallest value.
        high: The largest value.

    Examples:
        >>> spread = Spread.of([1.0, 2.0, 3.0, 4.0, 5.0])
        >>> spread.median, spread.q1, spread.q3, spread.iqr, spread.low
        (3.0, 2.0, 4.0, 2.0, 1.0)
        >>> Spread.of([7.0]).iqr
        0.0
    """

    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread":
        """Summarizes ``values``.

        Raises:
            ValueError: If there are none.
        """
        ordered = sorted(values)
        if not ordered:
            raise ValueError("the spread of no values is undefined.")
        if len(ordered) == 1:
            q1 = median = q3 = ordered[0]
        else:
            q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        return cls(median=median, q1=q1, q3=q3, low=ordered[0], high=ordered[-1])

    @property
    def iqr(self) -> float:
        """The interquartile range, ``q3 - q1``."""
        return self.q3 - self.q1
