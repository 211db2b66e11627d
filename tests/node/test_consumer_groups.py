"""Consumer groups against an Odradek node process, with real clients and Kafka's tools.

Three members share a six-partition topic, with every client family and each
rebalance protocol it speaks: eager and cooperative assignors over the classic
protocol (JoinGroup/SyncGroup), and KIP-848's ``group.protocol=consumer``
(ConsumerGroupHeartbeat) where the client has it. Every member is a process, so
that it can leave cleanly, crash (SIGKILL) and come back: the Python libraries as
:mod:`tests.node.group_member`, which commits manually after each batch and leaves
on SIGTERM; kafkajs and the Java client as their test programs, which commit as they
go and leave when their time is up. Whatever happens, every record produced is
consumed by some member.

Committed offsets outlive a restart of the node, clean or killed; Kafka's
``kafka-consumer-groups`` describes, resets and deletes groups; consumer lag is a
Prometheus gauge.

Timing: classic members use a 6 s session (Kafka's smallest) and heartbeat every
half second; consumer groups get the same from the node's settings. Every wait is
for a state to be reached, bounded by a generous timeout.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support import processes
from tests.support.clients import require
from tests.support.kafka_reference import java_command, kafka_unavailable, run_kafka_tool
from tests.support.odradek_node import OdradekNode, odradek_node
from tests.support.probe import free_port
from tests.support.program_clients import EXIT_TIMED_OUT, JavaClient, KafkaJs
from tests.support.records import ConsumedRecord, Record, from_json_line

pytestmark = pytest.mark.timeout(180)

PARTITIONS = 6
MEMBERS = 3
#: Long enough for a member to join, rebalance or time out on a loaded machine.
WAIT_S = 60.0

NODE_SETTINGS = {
    # Consumer groups (KIP-848) take their session and heartbeat from the broker.
    "group.consumer.session.timeout.ms": "6000",
    "group.consumer.min.session.timeout.ms": "6000",
    "group.consumer.heartbeat.interval.ms": "500",
    "group.consumer.min.heartbeat.interval.ms": "500",
}

CLASSIC_LIBRDKAFKA = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
CLASSIC_PYTHON = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 500}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    overrides = {
        **NODE_SETTINGS,
        "odradek.metrics.listener": f"127.0.0.1:{free_port()}",
    }
    with odradek_node(workdir=tmp_path_factory.mktemp("odradek"), overrides=overrides) as n:
        yield n


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    base = re.sub(r"[^a-zA-Z0-9._-]+", "-", request.node.name).strip("-")
    return f"{base[:200]}-{uuid.uuid4().hex[:8]}"


# --- helpers --------------------------------------------------------------------------


def create_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=30)[topic].result(30)


def batch(name: str, count: int = 30) -> list[Record]:
    """``count`` records spread evenly over the partitions, values ``name-i``."""
    return [
        Record(key=None, value=f"{name}-{i}".encode(), partition=i % PARTITIONS)
        for i in range(count)
    ]


def produce(bootstrap: str, topic: str, records: Sequence[Record]) -> None:
    require("confluent-kafka").produce(bootstrap, topic, records)


def values(records: Sequence[Record]) -> set[str]:
    return {r.value.decode() for r in records if r.value is not None}


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout: float = WAIT_S,
    details: Callable[[], str] = str,
) -> None:
    """Wait until ``condition`` holds; on timeout, fail with ``details()`` (e.g. logs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{details()}")
        time.sleep(0.1)


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset of each partition (-1001: none), read with OffsetFetch."""
    import confluent_kafka

    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = consumer.committed(
            [confluent_kafka.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30
        )
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in found}


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4()}"}
    )
    try:
        return {
            p: consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), 30)[1]
            for p in range(PARTITIONS)
        }
    finally:
        consumer.close()


def describe_group(bootstrap: str, group: str) -> Any:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group], request_timeout=30)[group].result(30)


class Member:
    """A :mod:`tests.node.group_member` process and everything it has printed."""

    def __init__(
        self,
        node: OdradekNode,
        library: str,
        topic: str,
        group: str,
        config: Mapping[str, Any],
        log_dir: Path,
    ) -> None:
        require(library)
        self.name = f"{library}-{uuid.uuid4().hex[:6]}"
        self.log_path = log_dir / f"{self.name}.log"
        self._stderr = self.log_path.open("wb")
        argv = [
            sys.executable, "-m", "tests.node.group_member", "--library", library,
            "--bootstrap-server", node.bootstrap, "--topic", topic, "--group", group,
            "--config", json.dumps(dict(config)),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=self._stderr, start_new_session=True
        )
        self._lock = threading.Lock()
        self.assignments: list[list[int]] = []
        self.received: list[tuple[int, int, str]] = []
        self.commits = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            with self._lock:
                if "assigned" in event:
                    self.assignments.append(event["assigned"])
                elif "records" in event:
                    self.received.extend(tuple(r) for r in event["records"])
                elif "committed" in event:
                    self.commits += 1

    @property
    def assignment(self) -> list[int]:
        with self._lock:
            return self.assignments[-1] if self.assignments else []

    def values(self) -> set[str]:
        with self._lock:
            return {value for _, _, value in self.received}

    def leave(self) -> None:
        """Close the consumer cleanly: it leaves the group."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=WAIT_S) == 0, f"{self.name} did not close cleanly"
        self._reader.join(timeout=10)

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._stderr.close()


@pytest.fixture
def members(tmp_path: Path) -> Iterator[Callable[..., Member]]:
    started: list[Member] = []

    def start(
        node: OdradekNode, library: str, topic: str, group: str, config: Mapping[str, Any]
    ) -> Member:
        member = Member(node, library, topic, group, config, tmp_path)
        started.append(member)
        return member

    yield start
    for member in started:
        member.close()


def member_report(group: Sequence[Member]) -> str:
    """Each member's assignments so far and the end of its log, for a failure message."""
    return "\n".join(
        f"--- {m.name}: assignments {m.assignments}, exit {m.process.poll()}\n"
        f"{processes.log_tail(m.log_path, 30)}"
        for m in group
    )


def balanced(group: Sequence[Member]) -> bool:
    """Every partition owned by exactly one of ``group``, shared out evenly."""
    owned = sorted(p for m in group for p in m.assignment)
    sizes = {len(m.assignment) for m in group}
    return owned == list(range(PARTITIONS)) and max(sizes) - min(sizes) <= 1


def consumed_all(group: Sequence[Member], expected: set[str]) -> bool:
    seen: set[str] = set()
    for member in group:
        seen |= member.values()
    return expected <= seen


# --- three members, join, leave, crash, return ------------------------------------------

SCENARIOS = [
    pytest.param(
        "confluent-kafka",
        {**CLASSIC_LIBRDKAFKA, "partition.assignment.strategy": "range"},
        ("CLASSIC", "range"),
        id="confluent-kafka-eager",
    ),
    pytest.param(
        "confluent-kafka",
        {**CLASSIC_LIBRDKAFKA, "partition.assignment.strategy": "cooperative-sticky"},
        ("CLASSIC", "cooperative-sticky"),
        id="confluent-kafka-cooperative-sticky",
    ),
    pytest.param(
        "confluent-kafka",
        {"group.protocol": "consumer"},
        ("CONSUMER", "uniform"),
        id="confluent-kafka-consumer",
    ),
    pytest.param(
        "kafka-python",
        {**CLASSIC_PYTHON, "assignors": ["roundrobin"]},
        ("CLASSIC", "roundrobin"),
        id="kafka-python-eager",
    ),
    pytest.param(
        "kafka-python",
        {**CLASSIC_PYTHON, "assignors": ["cooperative-sticky"]},
        ("CLASSIC", "cooperative-sticky"),
        id="kafka-python-cooperative-sticky",
    ),
    pytest.param(
        "aiokafka",
        {**CLASSIC_PYTHON, "assignors": ["range"]},
        ("CLASSIC", "range"),
        id="aiokafka-eager",
    ),
]


@pytest.mark.parametrize(("library", "config", "kind"), SCENARIOS)
def test_members_join_leave_crash_and_return(
    node: OdradekNode,
    topic: str,
    members: Callable[..., Member],
    library: str,
    config: dict[str, Any],
    kind: tuple[str, str],
) -> None:
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    first, second, third = (members(node, library, topic, group, config) for _ in range(MEMBERS))
    wait_for(
        lambda: balanced([first, second, third]),
        "three members to share the partitions",
        details=lambda: member_report([first, second, third]),
    )
    assert all(len(m.assignment) == PARTITIONS // MEMBERS for m in (first, second, third))
    described = describe_group(node.bootstrap, group)
    assert (described.type.name, described.partition_assignor) == kind
    produced = batch("three")
    produce(node.bootstrap, topic, produced)
    wait_for(lambda: consumed_all([first, second, third], values(produced)), "the first batch")

    # A clean leave: the other two take over its partitions at once.
    first.leave()
    wait_for(lambda: balanced([second, third]), "two members to share the partitions")
    after_leave = batch("after-leave")
    produce(node.bootstrap, topic, after_leave)
    produced += after_leave
    wait_for(lambda: consumed_all([second, third], values(after_leave)), "the batch after a leave")

    # A crash: its partitions move once its session times out.
    second.crash()
    wait_for(lambda: third.assignment == list(range(PARTITIONS)), "the survivor to own everything")
    after_crash = batch("after-crash")
    produce(node.bootstrap, topic, after_crash)
    produced += after_crash
    wait_for(lambda: consumed_all([third], values(after_crash)), "the batch after a crash")

    # The crashed member returns as a new process and gets its share back.
    returned = members(node, library, topic, group, config)
    wait_for(lambda: balanced([third, returned]), "the returning member to get its share")
    after_return = batch("after-return")
    produce(node.bootstrap, topic, after_return)
    produced += after_return
    everyone = [first, second, third, returned]
    wait_for(lambda: consumed_all(everyone, values(produced)), "every record")

    # Once the members close, every offset committed is the end of its partition.
    for member in (third, returned):
        member.leave()
    assert committed(node.bootstrap, group, topic) == end_offsets(node.bootstrap, topic)


def test_static_member_returns_without_a_rebalance(
    node: OdradekNode, topic: str, members: Callable[..., Member]
) -> None:
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"

    def static(instance: str) -> dict[str, Any]:
        return {
            **CLASSIC_LIBRDKAFKA,
            "session.timeout.ms": 30000,
            "group.instance.id": instance,
        }

    crashing, *others = (
        members(node, "confluent-kafka", topic, group, static(f"instance-{i}"))
        for i in range(MEMBERS)
    )
    wait_for(lambda: balanced([crashing, *others]), "three static members to share partitions")
    before = crashing.assignment
    seen_by_others = [len(m.assignments) for m in others]
    crashing.crash()
    returned = members(node, "confluent-kafka", topic, group, static("instance-0"))
    wait_for(lambda: bool(returned.assignment), "the static member to be back")
    # Its instance id gives it its old place: same partitions, and nobody else moved.
    assert returned.assignment == before
    assert [len(m.assignments) for m in others] == seen_by_others
    produced = batch("static")
    produce(node.bootstrap, topic, produced)
    wait_for(lambda: consumed_all([returned, *others], values(produced)), "every record")


# --- online migration between the two protocols ---------------------------------------

MIGRATION_SCENARIOS = [
    pytest.param({**CLASSIC_LIBRDKAFKA, "partition.assignment.strategy": "range"}, id="eager"),
    pytest.param(
        {**CLASSIC_LIBRDKAFKA, "partition.assignment.strategy": "cooperative-sticky"},
        id="cooperative-sticky",
    ),
]


@pytest.mark.parametrize("classic", MIGRATION_SCENARIOS)
def test_a_group_upgrades_to_the_consumer_protocol_and_back(
    node: OdradekNode, topic: str, members: Callable[..., Member], classic: dict[str, Any]
) -> None:
    """Classic members carry on while a consumer-protocol member joins, and after it leaves."""
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    first, second = (members(node, "confluent-kafka", topic, group, classic) for _ in range(2))
    wait_for(lambda: balanced([first, second]), "two classic members to share the partitions")
    assert describe_group(node.bootstrap, group).type.name == "CLASSIC"
    produced = batch("classic")
    produce(node.bootstrap, topic, produced)
    wait_for(lambda: consumed_all([first, second], values(produced)), "the classic batch")

    # A member speaking the consumer protocol joins: the group becomes a consumer
    # group and the server assignor shares the partitions among all three.
    upgraded = members(node, "confluent-kafka", topic, group, {"group.protocol": "consumer"})
    everyone = [first, second, upgraded]
    wait_for(lambda: balanced(everyone), "three members of both protocols to share partitions")
    described = describe_group(node.bootstrap, group)
    assert (described.type.name, len(described.members)) == ("CONSUMER", 3)
    mixed = batch("mixed")
    produce(node.bootstrap, topic, mixed)
    produced += mixed
    wait_for(lambda: consumed_all(everyone, values(mixed)), "the batch of the mixed group")

    # It leaves: the group is classic again and its two members share everything.
    upgraded.leave()
    wait_for(lambda: balanced([first, second]), "the classic members to take everything back")
    assert describe_group(node.bootstrap, group).type.name == "CLASSIC"
    after = batch("downgraded")
    produce(node.bootstrap, topic, after)
    produced += after
    wait_for(lambda: consumed_all(everyone, values(produced)), "every record")
    for member in (first, second):
        member.leave()
    assert committed(node.bootstrap, group, topic) == end_offsets(node.bootstrap, topic)


# --- kafkajs and the Java client --------------------------------------------------------


class ProgramMember:
    """kafkajs or the Java client consuming in a group, as its test program, for
    ``timeout_s`` seconds; then it closes the consumer, which leaves the group.

    The programs print each record as a JSON line and say nothing of their
    assignments: the group's (DescribeGroups, ConsumerGroupDescribe) tell those.
    Both commit as they go (kafkajs after each batch, Java's auto-commit), after the
    records are printed.
    """

    def __init__(
        self,
        client_name: str,
        node: OdradekNode,
        topic: str,
        group: str,
        config: Mapping[str, Any],
        timeout_s: float,
        log_dir: Path,
    ) -> None:
        require(client_name)
        common = ["--bootstrap-server", node.bootstrap, "--topic", topic]
        until = ["--count", "1000000", "--timeout-ms", str(int(timeout_s * 1000))]
        env = None
        if client_name == "java":
            settings = [a for k, v in config.items() for a in ("--property", f"{k}={v}")]
            argv = java_command(
                "JavaClient", "consume", *common, *settings, *until, "--group", group,
                extra_classpath=[JavaClient().classes()],
            )  # fmt: skip
        else:
            argv = [
                "node", str(KafkaJs.SCRIPT), "consume", *common,
                "--options", json.dumps(dict(config)), *until, "--group", group,
            ]  # fmt: skip
            env = processes.environment(NODE_PATH=str(KafkaJs().node_modules()))
        self.name = f"{client_name}-{uuid.uuid4().hex[:6]}"
        self._stderr = (log_dir / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._stderr, env=env, start_new_session=True
        )
        self._lock = threading.Lock()
        self.received: list[ConsumedRecord] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                record = from_json_line(line.decode())
                with self._lock:
                    self.received.append(record)

    def values(self) -> set[str]:
        with self._lock:
            return {r.value.decode() for r in self.received if r.value is not None}

    def partitions(self) -> set[int]:
        with self._lock:
            return {r.partition for r in self.received}

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._stderr.close()


def group_shares_partitions(bootstrap: str, group: str, size: int) -> bool:
    """Whether the group is Stable with ``size`` members that own every partition once."""
    described = describe_group(bootstrap, group)
    if described.state.name != "STABLE" or len(described.members) != size:
        return False
    owned = sorted(
        tp.partition
        for member in described.members
        if member.assignment is not None
        for tp in member.assignment.topic_partitions
    )
    sizes = [
        len(m.assignment.topic_partitions) if m.assignment is not None else 0
        for m in described.members
    ]
    return owned == list(range(PARTITIONS)) and max(sizes) - min(sizes) <= 1


KAFKAJS_CLASSIC = {"sessionTimeout": 6000, "heartbeatInterval": 500}
JAVA_CLASSIC = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}

PROGRAM_CLIENTS = [
    pytest.param("kafkajs", KAFKAJS_CLASSIC, ("CLASSIC", "RoundRobinAssigner"), id="kafkajs"),
    pytest.param(
        "java", JAVA_CLASSIC, ("CLASSIC", "range"), id="java-eager", marks=pytest.mark.java
    ),
    pytest.param(
        "java",
        {
            **JAVA_CLASSIC,
            "partition.assignment.strategy": (
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            ),
        },
        ("CLASSIC", "cooperative-sticky"),
        id="java-cooperative-sticky",
        marks=pytest.mark.java,
    ),
    pytest.param(
        "java",
        {"group.protocol": "consumer"},
        ("CONSUMER", "uniform"),
        id="java-consumer",
        marks=pytest.mark.java,
    ),
]


@pytest.mark.parametrize(("client_name", "config", "kind"), PROGRAM_CLIENTS)
def test_program_members_join_leave_crash_and_return(
    node: OdradekNode,
    topic: str,
    tmp_path: Path,
    client_name: str,
    config: dict[str, Any],
    kind: tuple[str, str],
) -> None:
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    # The first member's time runs out while the others go on: its close is the leave.
    leaves_after = 30.0 if client_name == "java" else 15.0
    started: list[ProgramMember] = []

    def member(timeout_s: float = 600.0) -> ProgramMember:
        started.append(ProgramMember(client_name, node, topic, group, config, timeout_s, tmp_path))
        return started[-1]

    def shared_by(size: int) -> Callable[[], bool]:
        return lambda: group_shares_partitions(node.bootstrap, group, size)

    def consumed(expected: set[str]) -> Callable[[], bool]:
        return lambda: expected <= set().union(*(m.values() for m in started))

    try:
        leaving, crashing, staying = member(leaves_after), member(), member()
        wait_for(shared_by(MEMBERS), "three members to share the partitions")
        described = describe_group(node.bootstrap, group)
        assert (described.type.name, described.partition_assignor) == kind
        produced = batch("three")
        produce(node.bootstrap, topic, produced)
        wait_for(consumed(values(produced)), "the first batch")
        # Each member read the two partitions it was assigned, and only those.
        assert [len(m.partitions()) for m in (leaving, crashing, staying)] == [2, 2, 2]

        assert leaving.process.wait(timeout=WAIT_S) in (0, EXIT_TIMED_OUT)
        wait_for(shared_by(2), "two members to share the partitions")
        after_leave = batch("after-leave")
        produce(node.bootstrap, topic, after_leave)
        produced += after_leave
        wait_for(consumed(values(after_leave)), "the batch after a leave")

        crashing.crash()
        wait_for(shared_by(1), "the survivor to own everything")
        after_crash = batch("after-crash")
        produce(node.bootstrap, topic, after_crash)
        produced += after_crash
        wait_for(consumed(values(after_crash)), "the batch after a crash")

        member()
        wait_for(shared_by(2), "the returning member to get its share")
        after_return = batch("after-return")
        produce(node.bootstrap, topic, after_return)
        produced += after_return
        wait_for(consumed(values(produced)), "every record")
    finally:
        for m in started:
            m.close()


@pytest.mark.java
def test_java_members_migrate_between_the_protocols(
    node: OdradekNode, topic: str, tmp_path: Path
) -> None:
    """Java's classic consumers with a Java consumer-protocol member, which then crashes."""
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    classic = {
        **JAVA_CLASSIC,
        "partition.assignment.strategy": (
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
        ),
    }
    started: list[ProgramMember] = []

    def member(config: Mapping[str, Any]) -> ProgramMember:
        started.append(ProgramMember("java", node, topic, group, config, 600.0, tmp_path))
        return started[-1]

    def shared_by(size: int, kind: str) -> Callable[[], bool]:
        def check() -> bool:
            shared = group_shares_partitions(node.bootstrap, group, size)
            return shared and describe_group(node.bootstrap, group).type.name == kind

        return check

    def consumed(expected: set[str]) -> Callable[[], bool]:
        return lambda: expected <= set().union(*(m.values() for m in started))

    try:
        member(classic), member(classic)
        wait_for(shared_by(2, "CLASSIC"), "two classic members to share the partitions")
        upgraded = member({"group.protocol": "consumer"})
        wait_for(shared_by(3, "CONSUMER"), "the upgraded group to share the partitions")
        produced = batch("mixed")
        produce(node.bootstrap, topic, produced)
        wait_for(consumed(values(produced)), "the batch of the mixed group")

        # Its session runs out: the group is classic again.
        upgraded.crash()
        wait_for(shared_by(2, "CLASSIC"), "the downgraded group to share the partitions")
        after = batch("downgraded")
        produce(node.bootstrap, topic, after)
        produced += after
        wait_for(consumed(values(produced)), "every record")
    finally:
        for m in started:
            m.close()


# --- offsets survive restarts -----------------------------------------------------------


def test_committed_offsets_survive_restarts(tmp_path: Path, topic: str) -> None:
    client = require("confluent-kafka")
    with odradek_node(workdir=tmp_path / "node", overrides=NODE_SETTINGS) as node:
        create_topic(node.bootstrap, topic)
        group = f"group-{uuid.uuid4().hex[:8]}"
        first = batch("first")
        produce(node.bootstrap, topic, first)
        client.consume(node.bootstrap, topic, len(first), group=group, config=CLASSIC_LIBRDKAFKA)
        before = committed(node.bootstrap, group, topic)
        assert before == end_offsets(node.bootstrap, topic)

        node.stop()
        node.start()
        assert committed(node.bootstrap, group, topic) == before

        node.kill()
        node.start()
        assert committed(node.bootstrap, group, topic) == before

        # The group carries on where it left off: only the new records are read.
        second = batch("second")
        produce(node.bootstrap, topic, second)
        received = client.consume(
            node.bootstrap, topic, len(second), group=group, config=CLASSIC_LIBRDKAFKA
        )
        assert {r.value for r in received} == {r.value for r in second}


# --- Kafka's kafka-consumer-groups, and the lag metric ----------------------------------


def commit_offsets(bootstrap: str, group: str, topic: str, offsets: Mapping[int, int]) -> None:
    import confluent_kafka

    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(
            offsets=[confluent_kafka.TopicPartition(topic, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()


@pytest.fixture
def kafka_tools() -> None:
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)


def consumer_groups_tool(node: OdradekNode, *args: str) -> str:
    result = run_kafka_tool("kafka-consumer-groups", "--bootstrap-server", node.bootstrap, *args)
    return result.stdout.decode()


def describe_rows(output: str, topic: str) -> dict[int, tuple[str, str, str]]:
    """Partition -> (current offset, log end offset, lag) from ``--describe`` output."""
    rows = {}
    for line in output.splitlines():
        fields = line.split()
        if topic in fields:
            at = fields.index(topic)
            rows[int(fields[at + 1])] = (fields[at + 2], fields[at + 3], fields[at + 4])
    return rows


@pytest.mark.java
@pytest.mark.usefixtures("kafka_tools")
def test_consumer_groups_tool(node: OdradekNode, topic: str) -> None:
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    produce(node.bootstrap, topic, batch("tool", 60))
    commit_offsets(node.bootstrap, group, topic, {p: p for p in range(PARTITIONS)})

    assert group in consumer_groups_tool(node, "--list").split()
    described = describe_rows(consumer_groups_tool(node, "--describe", "--group", group), topic)
    assert described == {p: (str(p), "10", str(10 - p)) for p in range(PARTITIONS)}

    consumer_groups_tool(
        node, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute"
    )
    assert committed(node.bootstrap, group, topic) == dict.fromkeys(range(PARTITIONS), 0)

    consumer_groups_tool(
        node, "--reset-offsets", "--group", group, "--topic", f"{topic}:2",
        "--to-offset", "7", "--execute",
    )  # fmt: skip
    assert committed(node.bootstrap, group, topic)[2] == 7

    consumer_groups_tool(node, "--delete", "--group", group)
    assert group not in consumer_groups_tool(node, "--list").split()
    assert committed(node.bootstrap, group, topic) == dict.fromkeys(range(PARTITIONS), -1001)


@pytest.mark.java
@pytest.mark.usefixtures("kafka_tools")
def test_consumer_groups_tool_describes_members(
    node: OdradekNode, topic: str, members: Callable[..., Member]
) -> None:
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    running = [
        members(node, "confluent-kafka", topic, group, CLASSIC_LIBRDKAFKA) for _ in range(MEMBERS)
    ]
    wait_for(lambda: balanced(running), "three members to share the partitions")
    output = consumer_groups_tool(node, "--describe", "--members", "--group", group)
    rows = [line.split() for line in output.splitlines() if line.startswith(group)]
    assert len(rows) == MEMBERS
    # GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS
    assert sorted(int(row[4]) for row in rows) == [2, 2, 2]
    assert all(row[2] == "/127.0.0.1" for row in rows)


def scrape_lag(node: OdradekNode, group: str, topic: str) -> dict[int, float]:
    port = node.properties["odradek.metrics.listener"].rsplit(":", 1)[1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    lags = {}
    pattern = re.compile(r"^kafka_consumergroup_lag\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
    for line in text.splitlines():
        match = pattern.match(line)
        if match is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels["consumergroup"] == group and labels["topic"] == topic:
            lags[int(labels["partition"])] = float(match["value"])
    return lags


def test_lag_metric(node: OdradekNode, topic: str) -> None:
    create_topic(node.bootstrap, topic)
    group = f"group-{uuid.uuid4().hex[:8]}"
    produce(node.bootstrap, topic, batch("lag", 60))
    commit_offsets(node.bootstrap, group, topic, {p: p for p in range(PARTITIONS)})
    assert scrape_lag(node, group, topic) == {p: 10.0 - p for p in range(PARTITIONS)}
    produce(node.bootstrap, topic, batch("more-lag", 6))
    assert scrape_lag(node, group, topic) == {p: 11.0 - p for p in range(PARTITIONS)}
