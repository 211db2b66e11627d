"""The registry of implemented APIs: each handler module registers itself here.

A handler is registered with the range of versions it really implements, beside its
code (``@handles(PRODUCE, 3, 11)``). ApiVersions is answered from this registry and
the dispatcher refuses anything outside it, so the broker can never advertise an API
it does not serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from odradek.protocol.messages.clients import APIS

if TYPE_CHECKING:
    from odradek.broker.context import RequestContext

Handler = Callable[["RequestContext", Any], Awaitable[Any]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class ApiHandler:
    key: int
    lowest: int
    highest: int
    handle: Handler

    @property
    def name(self) -> str:
        return APIS[self.key].name

    def supports(self, version: int) -> bool:
        return self.lowest <= version <= self.highest


REGISTRY: dict[int, ApiHandler] = {}


def handles(key: int, lowest: int, highest: int) -> Callable[[H], H]:
    """Register the decorated coroutine as the handler of API ``key``, versions lowest..highest."""
    spec = APIS[key]
    if not spec.lowest <= lowest <= highest <= spec.highest:
        raise ValueError(f"{spec.name} versions {lowest}-{highest} are outside its specs")

    def register(fn: H) -> H:
        if key in REGISTRY:
            raise ValueError(f"{spec.name} has two handlers")
        REGISTRY[key] = ApiHandler(key, lowest, highest, fn)
        return fn

    return register
