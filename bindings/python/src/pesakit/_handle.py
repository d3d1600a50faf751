"""What every client wrapper shares: the native client it holds, closing, printing, and
the ``with`` / ``async with`` protocols. The gateway modules add only their calls."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Optional, Type, TypeVar

_H = TypeVar("_H", bound="_Handle")
_B = TypeVar("_B", bound="_Blocking")
_A = TypeVar("_A", bound="_Async")


class _Handle:
    """Holds one native client; several wrappers (blocking and async) may share it."""

    __slots__ = ("_native_client",)

    _native_client: Any

    @classmethod
    def _wrap(cls: Type[_H], native: Any) -> _H:
        handle = cls.__new__(cls)
        handle._native_client = native
        return handle

    @property
    def _client(self) -> Any:
        native = self._native_client
        if native is None:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        return native

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native_client is None

    @property
    def base_url(self) -> str:
        """The base URL requests go to."""
        url: str = self._client.base_url()
        return url

    def close(self) -> None:
        """Releases this client: later calls raise ``RuntimeError``.

        Calls already running finish normally. Closing twice is harmless.
        """
        self._native_client = None

    def __repr__(self) -> str:
        if self._native_client is None:
            return f"{type(self).__name__}(closed)"
        return f"{type(self).__name__}(base_url={self._native_client.base_url()!r})"


class _Blocking(_Handle):
    """``with client:`` closes the client at the end of the block."""

    __slots__ = ()

    def __enter__(self: _B) -> _B:
        self._client  # raises if closed
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


class _Async(_Handle):
    """``async with client:`` closes the client at the end of the block."""

    __slots__ = ()

    async def __aenter__(self: _A) -> _A:
        self._client  # raises if closed
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Releases this client, as :meth:`close` does."""
        self.close()
