"""Package exports that load on first access, so importing one name never imports its siblings.

DAG files import the provider constantly (the DAG processor re-parses them all the time); a package
that re-exports every operator eagerly would make each of those imports pay for all of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, module_of: Mapping[str, str]) -> Callable[[str], Any]:
    """Build a module-level ``__getattr__`` that imports ``package.<module>`` when a name is first read.

    :param package: the package's ``__name__``.
    :param module_of: exported name → the submodule (relative to ``package``) that defines it.
    """

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        package_globals = vars(importlib.import_module(package))
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        package_globals[name] = value  # later reads skip __getattr__
        return value

    return __getattr__
