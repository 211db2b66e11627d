"""What a handler knows about the request in front of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from odradek.broker.apis import ApiHandler
    from odradek.broker.broker import Broker


class Client(Protocol):
    """The connection a request came in on."""

    @property
    def connection_id(self) -> str: ...

    @property
    def listener(self) -> str: ...

    @property
    def peer_host(self) -> str: ...


@dataclass(frozen=True)
class RequestContext:
    broker: Broker
    client: Client
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    #: The APIs served on the listener this request came in on.
    apis: Mapping[int, ApiHandler]
