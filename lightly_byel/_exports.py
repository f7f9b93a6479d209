"""Lazy exports: a package's public names import their modules on first use.

Importing torch takes seconds; with lazy exports the torch-free parts (the
synthetic-face generator and its command line) start without it.
"""

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Returns the module ``__getattr__`` and ``__dir__`` of a package.

    Args:
        package: The package's ``__name__``.
        exports: The module that defines each public name.

    Returns:
        ``__getattr__`` (imports the defining module, caches the name on the
        package) and ``__dir__``.

    Examples:
        >>> import types
        >>> sys.modules["demo"] = types.ModuleType("demo")
        >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"})
        >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
        (3.0, True)
        >>> getattr_("cbrt")
        Traceback (most recent call last):
        ...
        AttributeError: module 'demo' has no attribute 'cbrt'
        >>> del sys.modules["demo"]
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
