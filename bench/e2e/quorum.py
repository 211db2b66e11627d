"""Metadata quorum benchmark: Odradek's KRaft quorum beside Apache Kafka's, in one run.

`python3 -m bench.e2e --quorum` (see bench/e2e/README.md). Each system runs as separate
processes on loopback: three controllers (`process.roles=controller`, a static quorum of
`controller.quorum.voters`) and one broker, with the same `controller.quorum.*` timeouts
for both (:data:`QUORUM_SETTINGS`, Kafka's defaults written out). Three figures:

* **create-topic round trip**: CreateTopics (one topic, one partition, replication
  factor 1) sent to the broker, which forwards it to the active controller, and
  answered once the topic's records are committed by a majority of the quorum; one
  request at a time on one connection, the time from sending to the answer
  (shared/kafka-spec/clients/CreateTopicsRequest.json);
* **metadata records committed per second**: several connections straight to the
  active controller's listener (KIP-919's `--bootstrap-controller` path), each sending
  IncrementalAlterConfigs of ten topics' `retention.ms` (ten ConfigRecords) one after
  the other, for a few seconds; the rate is the growth of the metadata log's high
  watermark (DescribeQuorum, shared/kafka-spec/clients/DescribeQuorumRequest.json)
  over the time;
* **failover**: the active controller is killed (SIGKILL); the time until one of the
  others reports, as the new leader, a high watermark past the old leader's -- the
  next committed record. The killed controller is then started again and awaited
  until it has caught up, before anything else is measured.

The client is this file's: a blocking socket per connection speaking the Kafka protocol
with Odradek's codec, the same for both systems, so that no client library's own
scheduling is timed. Repetitions alternate the systems' order; the report gives each
system's medians and Odradek's ratios to Kafka (times: below 1 is faster; rates: above
1 is faster), beside the targets (round trip at most twice Kafka's, failover no slower).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import statistics
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import odradek
from odradek.protocol.framing import encode_request, read_response
from odradek.protocol.messages.clients import APIS
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from odradek.raft.messages import describe_quorum_request
from tests.support.kafka_cluster import kafka_cluster
from tests.support.kafka_reference import kafka_unavailable, kafka_version
from tests.support.odradek_cluster import odradek_cluster

SYSTEMS = ("odradek", "kafka")
#: Kafka's defaults of the quorum's timeouts, given to both systems explicitly.
QUORUM_SETTINGS = {
    "controller.quorum.election.timeout.ms": "1000",
    "controller.quorum.fetch.timeout.ms": "2000",
    "controller.quorum.election.backoff.max.ms": "1000",
    "controller.quorum.request.timeout.ms": "2000",
    "controller.quorum.retry.backoff.ms": "20",
    "controller.quorum.append.linger.ms": "25",
}
CREATE_TOPICS = 19
INCREMENTAL_ALTER_CONFIGS = 44
DESCRIBE_QUORUM = 55
TOPIC_RESOURCE = 2
SET = 0
#: Topics whose configs the records/s load changes, ten per request.
LOAD_TOPICS = 10
REQUEST_TIMEOUT_S = 60.0
WAIT_TIMEOUT_S = 120.0
POLL_S = 0.005


@dataclass(frozen=True)
class QuorumOptions:
    systems: tuple[str, ...] = SYSTEMS
    repetitions: int = 3
    #: CreateTopics round trips timed per repetition.
    creates: int = 40
    #: How long the records/s load runs, and on how many connections.
    load_seconds: float = 5.0
    load_connections: int = 8
    workdir: Path | None = None


@dataclass
class QuorumMeasurement:
    """One system's figures in one repetition (empty or None where a step failed)."""

    system: str
    repetition: int
    create_ms: list[float] = field(default_factory=list)
    records_per_second: float | None = None
    failover_s: float | None = None
    error: str | None = None


class Node(Protocol):
    node_id: int
    host: str
    port: int | None
    controller_port: int | None

    @property
    def running(self) -> bool: ...

    def kill(self) -> int: ...

    def start(self, timeout: float = ...) -> None: ...


class Cluster(Protocol):
    @property
    def controllers(self) -> Sequence[Node]: ...

    @property
    def brokers(self) -> Sequence[Node]: ...


class Connection:
    """One blocking Kafka protocol connection: a request, then its response."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port), timeout=REQUEST_TIMEOUT_S)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._sock.close()

    def request(self, api_key: int, version: int, body: Any) -> Any:
        api = APIS[api_key]
        frame = encode_request(api, version, next(self._ids), "odradek-bench", body)
        self._sock.sendall(b"".join(bytes(part) for part in frame))
        (size,) = struct.unpack(">i", self._read(4))
        return read_response(api, version, memoryview(self._read(size)))[1]

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the connection closed mid-response")
            data += chunk
        return bytes(data)


@dataclass(frozen=True)
class Leadership:
    leader_id: int
    epoch: int
    high_watermark: int


def _describe(controller: Node) -> Any | None:
    """The controller's DescribeQuorum partition, if it answers as the leader."""
    assert controller.controller_port is not None
    try:
        connection = Connection(controller.host, controller.controller_port)
        try:
            response = connection.request(DESCRIBE_QUORUM, 1, describe_quorum_request())
        finally:
            connection.close()
    except OSError:
        return None
    if response.error_code or not response.topics:
        return None
    partition = response.topics[0].partitions[0]
    return partition if partition.error_code == 0 and partition.high_watermark >= 0 else None


def leadership(cluster: Cluster, *, exclude: int | None = None) -> Leadership | None:
    """The leader's DescribeQuorum answer, asking every running controller but ``exclude``."""
    for controller in cluster.controllers:
        if controller.node_id == exclude or not controller.running:
            continue
        partition = _describe(controller)
        if partition is not None:
            return Leadership(partition.leader_id, partition.leader_epoch, partition.high_watermark)
    return None


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {WAIT_TIMEOUT_S:g} s")
        time.sleep(POLL_S * 10)


def current_leadership(cluster: Cluster) -> Leadership:
    found: list[Leadership] = []

    def led() -> bool:
        now = leadership(cluster)
        if now is not None:
            found.append(now)
        return now is not None

    _wait(led, "a leader of the metadata log")
    return found[-1]


def _check(errors: Sequence[int], what: str) -> None:
    failed = [e for e in errors if e]
    if failed:
        raise RuntimeError(f"{what} failed with error codes {sorted(set(failed))}")


def create_topic(connection: Connection, name: str) -> None:
    body = CreateTopicsRequest(
        topics=[CreatableTopic(name=name, num_partitions=1, replication_factor=1)],
        timeout_ms=int(REQUEST_TIMEOUT_S * 1000),
    )
    response = connection.request(CREATE_TOPICS, 7, body)
    _check([t.error_code for t in response.topics], f"creating {name}")


def create_round_trips(cluster: Cluster, prefix: str, count: int) -> list[float]:
    """Milliseconds of each CreateTopics round trip through the broker."""
    broker = cluster.brokers[0]
    assert broker.port is not None
    connection = Connection(broker.host, broker.port)
    try:
        times = []
        for i in range(count):
            started = time.perf_counter()
            create_topic(connection, f"{prefix}-{i}")
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        connection.close()


def load_topics(system_prefix: str) -> list[str]:
    return [f"{system_prefix}-load-{i}" for i in range(LOAD_TOPICS)]


def records_per_second(
    cluster: Cluster, topics: Sequence[str], seconds: float, connections: int
) -> float:
    """High-watermark growth per second while ``connections`` clients alter configs."""
    leader = current_leadership(cluster)
    controller = next(c for c in cluster.controllers if c.node_id == leader.leader_id)
    assert controller.controller_port is not None
    counter = itertools.count(1)
    failures: list[BaseException] = []
    stop = time.monotonic() + seconds

    def client() -> None:
        assert controller.controller_port is not None
        connection = Connection(controller.host, controller.controller_port)
        try:
            while time.monotonic() < stop:
                value = str(10**8 + next(counter))
                body = IncrementalAlterConfigsRequest(
                    resources=[
                        AlterConfigsResource(
                            resource_type=TOPIC_RESOURCE,
                            resource_name=topic,
                            configs=[
                                AlterableConfig(
                                    name="retention.ms", config_operation=SET, value=value
                                )
                            ],
                        )
                        for topic in topics
                    ]
                )
                response = connection.request(INCREMENTAL_ALTER_CONFIGS, 1, body)
                _check([r.error_code for r in response.responses], "IncrementalAlterConfigs")
        except BaseException as e:
            failures.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    before = current_leadership(cluster)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = current_leadership(cluster)
    elapsed = time.monotonic() - started
    if failures:
        raise RuntimeError(f"the load failed: {failures[0]!r}")
    if after.epoch != before.epoch:
        raise RuntimeError("the leader changed during the load")
    return (after.high_watermark - before.high_watermark) / elapsed


def failover_seconds(cluster: Cluster) -> float:
    """From SIGKILL of the active controller to a new leader committing past the old one."""
    before = current_leadership(cluster)
    victim = next(c for c in cluster.controllers if c.node_id == before.leader_id)
    started = time.monotonic()
    victim.kill()
    elapsed: float | None = None
    deadline = started + WAIT_TIMEOUT_S
    while elapsed is None:
        now = leadership(cluster, exclude=victim.node_id)
        if now is not None and now.high_watermark > before.high_watermark:
            elapsed = time.monotonic() - started
        elif time.monotonic() > deadline:
            raise TimeoutError("no new leader committed anything after the SIGKILL")
        else:
            time.sleep(POLL_S)
    victim.start()
    _wait(lambda: _caught_up(cluster, victim.node_id), "the killed controller to catch up")
    return elapsed


def _caught_up(cluster: Cluster, node_id: int) -> bool:
    """Whether the leader counts voter ``node_id`` as holding the whole committed log."""
    for controller in cluster.controllers:
        partition = _describe(controller) if controller.running else None
        if partition is not None:
            ends = {v.replica_id: v.log_end_offset for v in partition.current_voters}
            return bool(ends.get(node_id, -1) >= partition.high_watermark)
    return False


@contextlib.contextmanager
def running_cluster(system: str, workdir: Path) -> Iterator[Cluster]:
    """Three controllers and one broker of ``system``, with the same quorum timeouts."""
    if system == "odradek":
        with odradek_cluster(
            controllers=3, brokers=1, overrides=QUORUM_SETTINGS, workdir=workdir
        ) as odradek:
            yield odradek
    else:
        with kafka_cluster(
            controllers=3, brokers=1, overrides=QUORUM_SETTINGS, workdir=workdir
        ) as kafka:
            yield kafka


def _warm_up(cluster: Cluster, system: str) -> None:
    """The load topics, a few round trips and a second of load: connections and JITs."""
    broker = cluster.brokers[0]
    assert broker.port is not None
    connection = Connection(broker.host, broker.port)
    try:
        for topic in load_topics(system):
            create_topic(connection, topic)
    finally:
        connection.close()
    create_round_trips(cluster, f"{system}-warm", 10)
    records_per_second(cluster, load_topics(system), 1.0, 2)


def measure(
    cluster: Cluster, system: str, repetition: int, options: QuorumOptions
) -> QuorumMeasurement:
    result = QuorumMeasurement(system, repetition)
    try:
        result.create_ms = create_round_trips(cluster, f"{system}-r{repetition}", options.creates)
        result.records_per_second = records_per_second(
            cluster, load_topics(system), options.load_seconds, options.load_connections
        )
        result.failover_s = failover_seconds(cluster)
    except Exception as e:
        result.error = f"{e!r}\n{traceback.format_exc(limit=3)}"
    return result


def versions(systems: Sequence[str]) -> dict[str, str]:
    names = {
        "odradek": f"Odradek {odradek.__version__}",
        "kafka": f"Apache Kafka {kafka_version()}",
    }
    return {s: names[s] for s in systems}


def run_quorum_benchmark(
    options: QuorumOptions, log: Callable[[str], None]
) -> list[QuorumMeasurement]:
    """Every repetition of every available system, the systems' order alternating."""
    systems = [s for s in options.systems if s != "kafka" or kafka_unavailable() is None]
    for skipped in set(options.systems) - set(systems):
        log(f"{skipped}: unavailable: {kafka_unavailable()}")
    results: list[QuorumMeasurement] = []
    with contextlib.ExitStack() as stack:
        if options.workdir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="odradek-quorum-")))
        else:
            root = options.workdir
        clusters: dict[str, Cluster] = {}
        for system in systems:
            log(f"{system}: starting 3 controllers and a broker")
            try:
                clusters[system] = stack.enter_context(running_cluster(system, root / system))
                _warm_up(clusters[system], system)
            except Exception as e:
                log(f"{system}: unavailable: {e!r}")
        for repetition in range(options.repetitions):
            order = list(clusters)
            if repetition % 2:
                order.reverse()
            for system in order:
                log(f"{system}: repetition {repetition + 1} of {options.repetitions}")
                measured = measure(clusters[system], system, repetition, options)
                if measured.error:
                    log(f"{system}: failed: {measured.error}")
                results.append(measured)
    return results


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    create_p50_ms: float | None
    create_p99_ms: float | None
    records_per_second: float | None
    failover_s: float | None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def summarize(results: Sequence[QuorumMeasurement], system: str) -> Summary:
    mine = [r for r in results if r.system == system]
    creates = [ms for r in mine for ms in r.create_ms]
    return Summary(
        create_p50_ms=_quantile(creates, 0.5),
        create_p99_ms=_quantile(creates, 0.99),
        records_per_second=_median(
            [r.records_per_second for r in mine if r.records_per_second is not None]
        ),
        failover_s=_median([r.failover_s for r in mine if r.failover_s is not None]),
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def format_report(results: Sequence[QuorumMeasurement], subject: str = "odradek") -> str:
    systems = list(dict.fromkeys(r.system for r in results))
    summaries = {s: summarize(results, s) for s in systems}
    names = versions(systems)

    def cell(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        "Metadata quorum: 3 controllers and 1 broker each, "
        f"{len({r.repetition for r in results})} repetitions",
        f"{'system':<28}{'create p50 ms':>14}{'create p99 ms':>14}{'records/s':>12}"
        f"{'failover s':>12}",
    ]
    for system, s in summaries.items():
        lines.append(
            f"{names[system]:<28}{cell(s.create_p50_ms, '.1f'):>14}"
            f"{cell(s.create_p99_ms, '.1f'):>14}{cell(s.records_per_second, '.0f'):>12}"
            f"{cell(s.failover_s, '.2f'):>12}"
        )
    mine = summaries.get(subject)
    for other, theirs in summaries.items():
        if mine is None or other == subject:
            continue
        create = _ratio(mine.create_p50_ms, theirs.create_p50_ms)
        rate = _ratio(mine.records_per_second, theirs.records_per_second)
        failover = _ratio(mine.failover_s, theirs.failover_s)
        lines.append(
            f"{subject}/{other}: create round trip x{cell(create, '.2f')} (target <= 2), "
            f"records/s x{cell(rate, '.2f')}, failover x{cell(failover, '.2f')} (target <= 1)"
        )
    lines.extend(
        f"{r.system} repetition {r.repetition + 1} failed: {r.error.splitlines()[0]}"
        for r in results
        if r.error
    )
    return "\n".join(lines)


def to_json(results: Sequence[QuorumMeasurement], subject: str = "odradek") -> dict[str, Any]:
    systems = list(dict.fromkeys(r.system for r in results))
    return {
        "benchmark": "quorum",
        "subject": subject,
        "versions": versions(systems),
        "settings": QUORUM_SETTINGS,
        "summaries": {s: summarize(results, s).__dict__ for s in systems},
        "measurements": [r.__dict__ for r in results],
    }
