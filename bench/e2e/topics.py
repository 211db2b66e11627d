"""The topics of a benchmark run, made and removed through the Kafka protocol with the same
client for every broker: CreateTopics, Metadata and DeleteTopics
(shared/kafka-spec/clients/CreateTopicsRequest.json, MetadataRequest.json,
DeleteTopicsRequest.json), sent by confluent-kafka's AdminClient.

A topic counts as ready once Metadata names a leader for every partition: CreateTopics may
answer before the partitions have leaders, and a producer that starts earlier only
measures the wait.
"""

from __future__ import annotations

import time

from confluent_kafka.admin import AdminClient, NewTopic

from bench.e2e.client_settings import common_settings

READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.05


class TopicNotReady(RuntimeError):
    """A topic's partitions did not all get a leader in time."""


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(common_settings(bootstrap))


def create_topic(
    bootstrap: str, topic: str, partitions: int, *, timeout: float = READY_TIMEOUT
) -> None:
    """Creates `topic` with replication factor 1 and waits until every partition has a
    leader."""
    admin = _admin(bootstrap)
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    futures[topic].result(timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is not None and metadata.error is None:
            leaders = [p.leader for p in metadata.partitions.values() if p.error is None]
            if len(leaders) == partitions and all(leader >= 0 for leader in leaders):
                return
        if time.monotonic() > deadline:
            raise TopicNotReady(f"{topic}: not all {partitions} partitions have a leader")
        time.sleep(POLL_INTERVAL)


def delete_topic(bootstrap: str, topic: str, *, timeout: float = READY_TIMEOUT) -> None:
    """Deletes `topic`, so that a broker that keeps records in memory gives them back."""
    # The client must outlive the answer: dropping it cancels the request.
    admin = _admin(bootstrap)
    futures = admin.delete_topics([topic], operation_timeout=timeout)
    futures[topic].result(timeout=timeout)
