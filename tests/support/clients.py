"""Every Kafka client the tests drive, by name, with the pytest glue to skip the ones
that cannot run here.

    from tests.support.clients import CLIENTS, client_params, require

    @pytest.mark.parametrize("client_name", client_params())
    def test_round_trip(client_name: str, broker: KafkaReference) -> None:
        client = require(client_name)
        client.produce(broker.bootstrap, topic, records)
        assert client.consume(broker.bootstrap, topic, len(records)) ...
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client_api import Client
from tests.support.library_clients import AioKafka, ConfluentKafka, KafkaPython
from tests.support.program_clients import JavaClient, KafkaJs, Kcat

CLIENTS: dict[str, Client] = {
    client.name: client
    for client in (ConfluentKafka(), KafkaPython(), AioKafka(), Kcat(), KafkaJs(), JavaClient())
}


def require(name: str) -> Client:
    """The client called `name`; skips the calling test if it cannot run here."""
    client = CLIENTS[name]
    reason = client.unavailable()
    if reason is not None:
        pytest.skip(reason)
    return client


def client_params(*names: str) -> list[Any]:
    """pytest parameters for the named clients (all when none are named), those that need
    Java marked `java`."""
    chosen = names or tuple(CLIENTS)
    return [
        pytest.param(name, id=name, marks=[pytest.mark.java] if CLIENTS[name].needs_java else [])
        for name in chosen
    ]
