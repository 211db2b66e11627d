"""Prometheus metrics, named after Kafka's JMX metrics, and the HTTP endpoint that serves them.

Kafka reports through JMX; Odradek speaks Prometheus's text format on
``odradek.metrics.listener`` (``127.0.0.1:9404`` by default, empty disables it) at
``/metrics``. Names follow the JMX ones an operator already knows, flattened the
way the Prometheus JMX exporter flattens them:

=============================================  =======================================
``kafka_server_brokertopicmetrics_*``          bytes and messages in and out, per topic
``kafka_network_requestmetrics_requests_total``  requests, per API
``kafka_network_requestmetrics_totaltime_seconds``  request latency, per API
``kafka_server_replicamanager_partitioncount``  partitions hosted
``kafka_server_socketservermetrics_connection_count``  open client connections
``kafka_consumergroup_current_offset``          committed offset, per group and partition
``kafka_consumergroup_lag``                     high watermark minus committed offset
``kafka_log_logcleanermanager_uncleanable_partitions_count``  failed compactions, per log dir
``python_gc_frozen_objects``                    objects start-up left frozen (``gc.freeze``)
=============================================  =======================================

The two consumer group gauges take the names and labels (``consumergroup``,
``topic``, ``partition``) of the widely used Prometheus exporters for Kafka, since
Kafka itself has no JMX metric for them; they are computed at each scrape from the
group coordinator's committed offsets (:mod:`odradek.broker.groups.lag`).

A deleted topic's series go with it, as Kafka's ``BrokerTopicStats.removeMetrics``
drops its topic meters: the per-topic counters are removed when the metadata deletes
the topic, and the consumer group gauges only ever list partitions this broker hosts.

Each node owns its registry, so several nodes in one process (tests) keep their
numbers apart.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from odradek.broker.groups import PartitionLag

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class Metrics:
    """The metrics of one node."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.bytes_in = Counter(
            "kafka_server_brokertopicmetrics_bytesin",
            "Bytes appended to the log from produce requests",
            ["topic"],
            registry=r,
        )
        self.messages_in = Counter(
            "kafka_server_brokertopicmetrics_messagesin",
            "Records appended to the log from produce requests",
            ["topic"],
            registry=r,
        )
        self.bytes_out = Counter(
            "kafka_server_brokertopicmetrics_bytesout",
            "Bytes of records sent in fetch responses",
            ["topic"],
            registry=r,
        )
        self.requests = Counter(
            "kafka_network_requestmetrics_requests",
            "Requests handled",
            ["request"],
            registry=r,
        )
        self.request_time = Histogram(
            "kafka_network_requestmetrics_totaltime_seconds",
            "Time from a request's arrival to its response",
            ["request"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.partitions = Gauge(
            "kafka_server_replicamanager_partitioncount",
            "Partitions hosted by this broker",
            registry=r,
        )
        self._per_api: dict[str, tuple[Any, Any]] = {}
        self._per_topic: dict[str, tuple[Any, Any, Any]] = {}
        self.connections = Gauge(
            "kafka_server_socketservermetrics_connection_count",
            "Open client connections",
            registry=r,
        )
        r.register(_FrozenObjectsCollector())

    def observe_request(self, api: str, seconds: float) -> None:
        # Looking a labelled child up takes a lock and a dict; keep each API's pair.
        children = self._per_api.get(api)
        if children is None:
            children = (self.requests.labels(api), self.request_time.labels(api))
            self._per_api[api] = children
        children[0].inc()
        children[1].observe(seconds)

    def _topic(self, topic: str) -> tuple[Any, Any, Any]:
        children = self._per_topic.get(topic)
        if children is None:
            children = (
                self.bytes_in.labels(topic),
                self.messages_in.labels(topic),
                self.bytes_out.labels(topic),
            )
            self._per_topic[topic] = children
        return children

    def record_produce(self, topic: str, size: int, records: int) -> None:
        bytes_in, messages_in, _ = self._topic(topic)
        bytes_in.inc(size)
        messages_in.inc(records)

    def record_fetch(self, topic: str, size: int) -> None:
        self._topic(topic)[2].inc(size)

    def forget_topic(self, topic: str) -> None:
        """Drop the series of a deleted topic; a new topic of the same name starts at zero."""
        if self._per_topic.pop(topic, None) is not None:
            for family in (self.bytes_in, self.messages_in, self.bytes_out):
                family.remove(topic)

    def set_partition_count(self, count: int) -> None:
        self.partitions.set(count)

    def watch_consumer_lag(self, source: Callable[[], Iterable[PartitionLag]]) -> None:
        """Publish the consumer lag ``source`` reports at each scrape."""
        self.registry.register(_ConsumerLagCollector(source))

    def watch_log_cleaner(self, source: Callable[[], Mapping[Path, int]]) -> None:
        """Publish, at each scrape, the uncleanable partitions ``source`` counts per log dir."""
        self.registry.register(_UncleanablePartitionsCollector(source))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _FrozenObjectsCollector(Collector):
    """How many objects the garbage collector no longer walks (see ``gc.freeze``)."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "python_gc_frozen_objects",
            "Objects in the garbage collector's permanent generation (frozen at start-up)",
            value=gc.get_freeze_count(),
        )


class _UncleanablePartitionsCollector(Collector):
    """Kafka's ``kafka.log:type=LogCleanerManager,name=uncleanable-partitions-count``."""

    def __init__(self, source: Callable[[], Mapping[Path, int]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "kafka_log_logcleanermanager_uncleanable_partitions_count",
            "Partitions of the log directory whose compaction failed and is not retried",
            labels=("logdirectory",),
        )
        for log_dir, count in self._source().items():
            family.add_metric([str(log_dir)], count)
        yield family


class _ConsumerLagCollector(Collector):
    _LABELS = ("consumergroup", "topic", "partition")

    def __init__(self, source: Callable[[], Iterable[PartitionLag]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        current = GaugeMetricFamily(
            "kafka_consumergroup_current_offset",
            "Committed offset of a consumer group in a partition",
            labels=self._LABELS,
        )
        lag = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "High watermark minus the committed offset of a consumer group in a partition",
            labels=self._LABELS,
        )
        for row in self._source():
            labels = [row.group, row.topic, str(row.partition)]
            current.add_metric(labels, row.committed_offset)
            lag.add_metric(labels, row.lag)
        yield current
        yield lag


async def serve_metrics(
    metrics: Metrics,
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A minimal HTTP/1.0 server answering ``GET /metrics`` (and 404 for anything else)."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    log.info("metrics on http://%s:%d/metrics", host, bound)
    task_status.started(bound)

    async def answer(stream: trio.SocketStream) -> None:
        await _answer(metrics, stream)

    await trio.serve_listeners(answer, listeners)


async def _answer(metrics: Metrics, stream: trio.abc.Stream) -> None:
    async with stream:
        request = b""
        with trio.move_on_after(5):
            while b"\r\n\r\n" not in request and len(request) < 8192:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                request += chunk
        parts = request.split(b" ", 2)
        if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/metrics":
            body = metrics.render()
            head = f"HTTP/1.0 200 OK\r\nContent-Type: {CONTENT_TYPE_LATEST}\r\n"
        else:
            body = b"not found\n"
            head = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(head.encode() + body)
