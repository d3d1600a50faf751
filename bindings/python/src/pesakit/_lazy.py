"""A standard module that pesakit's generated bindings import but use only in async
calls, loaded when first used instead of when pesakit is imported.

The module UniFFI generates (``pesakit._native``) imports ``asyncio`` at its top, and
uses it only inside the functions that serve async calls. Importing ``asyncio`` (with
the ``ssl``, ``socket``, ``subprocess`` and ``concurrent.futures`` modules it brings) took
about 25 ms of the 90 ms ``import pesakit`` took, for programs that may never make an
async call. ``scripts/package-python`` replaces that one import line of the generated
module with a :class:`LazyModule` under the same name; an async call is made from
running asyncio code, so by then ``asyncio`` is already loaded and the first use costs
a dictionary look-up.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict


class LazyModule:
    """Stands for the module ``name`` under that name in the namespace ``owner`` (a
    module's ``globals()``) until an attribute is first read from it. That read imports
    the module, puts the module itself in ``owner`` in its own place (so later reads go
    straight to the module, and see any attribute replaced on it since) and answers."""

    __slots__ = ("_name", "_owner")

    def __init__(self, name: str, owner: Dict[str, Any]) -> None:
        self._name = name
        self._owner = owner

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        if self._owner.get(self._name) is self:
            self._owner[self._name] = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"
