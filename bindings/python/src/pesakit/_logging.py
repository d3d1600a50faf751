"""Adapters that let ``logger=`` take a ``logging.Logger`` or a plain callable."""

from __future__ import annotations

import logging
from typing import Callable, Optional, Union

from . import _native

#: What ``logger=`` accepts: a :class:`pesakit.Logger`, a :class:`logging.Logger`, or a
#: callable taking ``(level: LogLevel, message: str)``.
LoggerLike = Union["_native.Logger", logging.Logger, Callable[["_native.LogLevel", str], object]]

_LEVELS = {
    _native.LogLevel.ERROR: logging.ERROR,
    _native.LogLevel.WARN: logging.WARNING,
    _native.LogLevel.INFO: logging.INFO,
    _native.LogLevel.DEBUG: logging.DEBUG,
}


class StdlibLogger(_native.Logger):
    """Forwards pesakit's log lines to a :class:`logging.Logger`."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def log(self, level: "_native.LogLevel", message: str) -> None:
        """Logs ``message`` at the matching ``logging`` level."""
        self._logger.log(_LEVELS.get(level, logging.INFO), "%s", message)

    def __repr__(self) -> str:
        return f"StdlibLogger({self._logger.name!r})"


class CallableLogger(_native.Logger):
    """Forwards pesakit's log lines to a function ``(level, message)``."""

    def __init__(self, function: Callable[["_native.LogLevel", str], object]) -> None:
        self._function = function

    def log(self, level: "_native.LogLevel", message: str) -> None:
        """Calls the function."""
        self._function(level, message)

    def __repr__(self) -> str:
        return f"CallableLogger({self._function!r})"


def adapt(logger: Optional[LoggerLike]) -> Optional["_native.Logger"]:
    """The generated ``Logger`` for what the caller passed as ``logger=``."""
    if logger is None or isinstance(logger, _native.Logger):
        return logger
    if isinstance(logger, logging.Logger):
        return StdlibLogger(logger)
    if callable(logger):
        return CallableLogger(logger)
    raise TypeError(
        "logger must be a pesakit.Logger, a logging.Logger or a callable (level, message), "
        f"not {type(logger).__name__}"
    )
