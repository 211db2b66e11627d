"""The registry of implemented APIs: each handler module registers itself here.

A handler is registered with the range of versions it really implements, beside its
code (``@handles(PRODUCE, 3, 11)``). ApiVersions is answered from this registry and
the dispatcher refuses anything outside it, so the broker can never advertise an API
it does not serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from odradek.protocol.messages.clients import APIS

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class ApiHandler:
    """One API a listener serves, versions ``lowest`` to ``highest``, and its handler."""

    key: int
    lowest: int
    highest: int
    handle: Callable[[Any, Any], Awaitable[Any]]

    @property
    def name(self) -> str:
        return APIS[self.key].name

    def supports(self, version: int) -> bool:
        return self.lowest <= version <= self.highest


class HandlerRegistry(dict[int, ApiHandler]):
    """The handlers of one kind of listener, by API key, filled by :meth:`handles`.

    ``listener`` (``"broker"`` or ``"controller"``), if given, must be one of the
    listeners the API's spec names.
    """

    def __init__(self, what: str, listener: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.listener = listener

    def handles(self, key: int, lowest: int, highest: int) -> Callable[[H], H]:
        """Register the decorated coroutine as the handler of ``key``, versions lowest..highest."""
        spec = APIS[key]
        if not spec.lowest <= lowest <= highest <= spec.highest:
            raise ValueError(f"{spec.name} versions {lowest}-{highest} are outside its specs")
        if self.listener is not None and self.listener not in spec.listeners:
            raise ValueError(f"{spec.name} is not an API of {self.listener} listeners")

        def register(fn: H) -> H:
            if key in self:
                raise ValueError(f"{spec.name} has two {self.what}")
            self[key] = ApiHandler(key, lowest, highest, fn)
            return fn

        return register


REGISTRY = HandlerRegistry("handlers")
handles = REGISTRY.handles
