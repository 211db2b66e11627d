"""The configuration ``odradek start`` uses when it is given none.

A single node that is both broker and controller, its data under ``./odradek-data``,
clients on ``127.0.0.1:9092`` and the controller quorum on ``127.0.0.1:9093``: the
layout of Kafka's quickstart ``config/server.properties``, with the replication
factors of the internal topics at 1 and no wait before a group's first rebalance, as
one node needs. Spec: ``docs/ops.html``, "KRaft" ("Combined Servers").
"""

from __future__ import annotations


def embedded_default_properties() -> dict[str, str]:
    """The embedded default as ``server.properties`` entries (a fresh dict each call)."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": "1@127.0.0.1:9093",
        "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": (
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,"
            "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
        ),
        "log.dirs": "./odradek-data",
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
