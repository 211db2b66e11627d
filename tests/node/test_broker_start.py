"""A broker that opens its client listener is in the cluster its clients are told of.

A broker process registers with the active controller and waits to be unfenced before
it accepts clients. Its own copy of the metadata log may lag the controller's answer by
a fetch, and a Metadata answer from that copy would list no broker at all: librdkafka's
admin client, which looks for a "controller" among the listed brokers, then waits in
vain. So the first Metadata a client gets lists the broker, and an admin client can
create a topic at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from odradek.protocol.messages.clients.metadata_request import MetadataRequest
from tests.support.odradek_cluster import FAST_QUORUM, odradek_cluster, request

confluent_admin = pytest.importorskip("confluent_kafka.admin")

pytestmark = pytest.mark.timeout(180)


def test_the_first_metadata_answer_lists_the_broker(tmp_path: Path) -> None:
    with odradek_cluster(
        controllers=1, brokers=1, overrides=FAST_QUORUM, workdir=tmp_path / "cluster"
    ) as cluster:
        broker = cluster.brokers[0]
        assert broker.port is not None
        # The cluster is handed over as soon as the broker answers ApiVersions.
        first = request(broker.host, broker.port, 3, 12, MetadataRequest(topics=None))
        assert [b.node_id for b in first.brokers] == [broker.node_id]
        assert first.controller_id == broker.node_id

        admin = confluent_admin.AdminClient({"bootstrap.servers": cluster.bootstrap})
        created = admin.create_topics(
            [confluent_admin.NewTopic("at-once", 3, 1)], request_timeout=30
        )
        created["at-once"].result(60)
        # The broker learns of the topic from the metadata log, a moment after the
        # controller answered.
        deadline = time.monotonic() + 30
        while "at-once" not in (topics := admin.list_topics(timeout=30).topics):
            assert time.monotonic() < deadline, "the topic never showed up"
            time.sleep(0.1)
        assert sorted(topics["at-once"].partitions) == [0, 1, 2]
