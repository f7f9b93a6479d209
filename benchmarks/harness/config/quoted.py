"""Values quoted in error messages, shortened: a message stays one readable line.

A settings file may hold a value of any size (a pasted log, an expanded YAML
alias), and an error that quoted it whole would print megabytes. :func:`quoted`
gives ``repr``'s text for ordinary values and a shortened one for large values.
"""

import reprlib
from typing import Any

LIMIT = 200
"""The longest quotation, in characters, before its ``...`` mark."""

_SHORT = reprlib.Repr()
_SHORT.maxstring = LIMIT
_SHORT.maxother = LIMIT
_SHORT.maxlong = LIMIT
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 8
_SHORT.maxlevel = 3


def quoted(value: Any) -> str:
    """``repr(value)``, shortened to about :data:`LIMIT` characters.

    Examples:
        >>> quoted("adam"), quoted([0, 1]), quoted(2.5)
        ("'adam'", '[0, 1]', '2.5')
        >>> quoted([list(range(100))] * 2)
        '[[0, 1, 2, 3, 4, 5, 6, 7, ...], [0, 1, 2, 3, 4, 5, 6, 7, ...]]'
        >>> [len(quoted(big)) <= LIMIT + 3 for big in ("x" * 10**4, [[[0] * 99] * 99])]
        [True, True]
    """
    text = _SHORT.repr(value)
    return text if len(text) <= LIMIT else text[:LIMIT] + "..."
