"""Consumer group benchmark: how fast a group settles after a change, and how many
synchronous offset commits one client gets through, against each broker in one run.

`python3 -m bench.e2e --groups` (see bench/e2e/README.md). For every broker, with the
same confluent-kafka settings for all:

* **re-stabilisation**: a group of three members (each a process,
  `bench.e2e.group_member`) on a six-partition topic. Three changes are timed, each
  from the moment it starts to the moment the members' assignments (as their
  rebalance callbacks report them) again cover every partition, evenly and once:
  a third member *joins* two (from its subscribe), a member *leaves* cleanly (from
  its close), a member *crashes* (from its SIGKILL; the broker notices when its
  session times out, so this measures the broker's timer against
  `session.timeout.ms`, the same for every broker);
* **migration** (KIP-848's online conversion): two classic members share the
  partitions, then a member with `group.protocol=consumer` joins, which *upgrades*
  the group to a consumer group (timed from its subscribe to three members sharing
  every partition), then it leaves cleanly, which *downgrades* the group to a classic
  one (timed from its close to two members sharing them again). Brokers that do not
  speak the consumer protocol get no figure for these;
* **commit round trips**: one consumer in a group of its own commits an offset
  synchronously (OffsetCommit, shared/kafka-spec/clients/OffsetCommitRequest.json)
  again and again for a few seconds; the rate is commits per second.

Before anything is timed, each broker gets a warm-up: a group that settles once and a
few seconds of commits, which also makes it create its offsets topic and (Kafka)
compile its hot paths. Repetitions alternate the brokers' order. The report gives each
broker's medians and the subject's ratios to the others: times as subject/other
(below 1 is faster), commit rates as subject/other (above 1 is faster).
"""

from __future__ import annotations

import contextlib
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.e2e.brokers import BROKERS, RunningBroker
from bench.e2e.client_settings import common_settings
from bench.e2e.topics import create_topic, delete_topic
from tests.support.cache import REPO_ROOT

PARTITIONS = 6
STABLE_TIMEOUT = 120.0
WARM_UP_COMMIT_SECONDS = 3.0
#: The classic-protocol settings every broker's members get.
DEFAULT_MEMBER_SETTINGS: dict[str, Any] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1000,
    "partition.assignment.strategy": "range",
}

CHANGES = ("join", "leave", "crash", "upgrade", "downgrade")
#: The settings of the member speaking the consumer protocol: librdkafka refuses the
#: classic-only ones (session, heartbeat, assignor) with it; the broker sets those.
CONSUMER_PROTOCOL_SETTINGS: dict[str, Any] = {"group.protocol": "consumer"}


@dataclass(frozen=True)
class GroupOptions:
    brokers: tuple[str, ...]
    repetitions: int
    member_settings: Mapping[str, Any]
    commit_seconds: float
    workdir: Path | None = None


@dataclass
class GroupMeasurement:
    """One broker's figures in one repetition (None where a step failed)."""

    broker: str
    repetition: int
    seconds: dict[str, float] = field(default_factory=dict)
    commits_per_second: float | None = None
    error: str | None = None


class Member:
    """A `bench.e2e.group_member` process and the assignments it reported, with times."""

    def __init__(self, bootstrap: str, topic: str, group: str, settings: Mapping[str, Any]):
        argv = [
            sys.executable, "-m", "bench.e2e.group_member", "--bootstrap-server", bootstrap,
            "--topic", topic, "--group", group, "--config", json.dumps(dict(settings)),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self._lock = threading.Lock()
        self.subscribed_at: float | None = None
        self.events: list[tuple[float, list[int]]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            with self._lock:
                if "subscribed" in event:
                    self.subscribed_at = event["at"]
                else:
                    self.events.append((event["at"], event["assignment"]))

    def latest(self) -> tuple[float, list[int]]:
        with self._lock:
            return self.events[-1] if self.events else (0.0, [])

    def leave(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=STABLE_TIMEOUT)

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def settled_at(members: list[Member], timeout: float = STABLE_TIMEOUT) -> float:
    """When the members' assignments last changed on the way to a balanced, complete one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = [m.latest() for m in members]
        owned = sorted(p for _, partitions in latest for p in partitions)
        sizes = [len(partitions) for _, partitions in latest]
        if owned == list(range(PARTITIONS)) and max(sizes) - min(sizes) <= 1:
            return max(at for at, _ in latest)
        time.sleep(0.01)
    raise TimeoutError(f"the group did not settle within {timeout:.0f} s")


def restabilisation(bootstrap: str, topic: str, settings: Mapping[str, Any]) -> dict[str, float]:
    """Seconds from each change (join, leave, crash) to a settled group of three members."""
    group = f"bench-group-{uuid.uuid4().hex[:8]}"
    members: list[Member] = []
    try:
        members += [Member(bootstrap, topic, group, settings) for _ in range(2)]
        settled_at(members)
        joining = Member(bootstrap, topic, group, settings)
        members.append(joining)
        joined = settled_at(members)
        assert joining.subscribed_at is not None
        seconds = {"join": joined - joining.subscribed_at}

        leaving = members.pop(0)
        started = time.time()
        leaving.leave()
        seconds["leave"] = settled_at(members) - started

        members.append(Member(bootstrap, topic, group, settings))
        settled_at(members)
        crashing = members.pop(0)
        started = time.time()
        crashing.crash()
        seconds["crash"] = settled_at(members) - started
        return seconds
    finally:
        for member in members:
            member.close()


def migration(bootstrap: str, topic: str, settings: Mapping[str, Any]) -> dict[str, float]:
    """Seconds from a consumer-protocol member's arrival, then its departure, to a settled
    group: the upgrade of a classic group and its downgrade."""
    group = f"bench-migration-{uuid.uuid4().hex[:8]}"
    members = [Member(bootstrap, topic, group, settings) for _ in range(2)]
    try:
        settled_at(members)
        upgrading = Member(bootstrap, topic, group, CONSUMER_PROTOCOL_SETTINGS)
        members.append(upgrading)
        upgraded = settled_at(members)
        assert upgrading.subscribed_at is not None
        seconds = {"upgrade": upgraded - upgrading.subscribed_at}
        members.remove(upgrading)
        started = time.time()
        upgrading.leave()
        seconds["downgrade"] = settled_at(members) - started
        return seconds
    finally:
        for member in members:
            member.close()


def commit_rate(bootstrap: str, topic: str, seconds: float) -> float:
    """Synchronous commits per second of one consumer, alone in its group."""
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            **common_settings(bootstrap),
            "group.id": f"bench-commits-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + STABLE_TIMEOUT
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError("the committing consumer got no assignment")
            consumer.poll(0.05)
        partition = consumer.assignment()[0].partition
        # A first commit finds the coordinator; the timed ones only go to it.
        consumer.commit(
            offsets=[confluent_kafka.TopicPartition(topic, partition, 0)], asynchronous=False
        )
        count = 0
        started = time.perf_counter()
        end = started + seconds
        while time.perf_counter() < end:
            count += 1
            consumer.commit(
                offsets=[confluent_kafka.TopicPartition(topic, partition, count)],
                asynchronous=False,
            )
        return count / (time.perf_counter() - started)
    finally:
        consumer.close()


def _describe(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(error)).strip()


def measure(broker: RunningBroker, repetition: int, options: GroupOptions) -> GroupMeasurement:
    result = GroupMeasurement(broker.name, repetition)
    topic = f"bench-groups-r{repetition}-{uuid.uuid4().hex[:8]}"
    try:
        create_topic(broker.bootstrap, topic, PARTITIONS)
        result.seconds = restabilisation(broker.bootstrap, topic, options.member_settings)
        result.commits_per_second = commit_rate(broker.bootstrap, topic, options.commit_seconds)
        with contextlib.suppress(Exception):
            result.seconds.update(migration(broker.bootstrap, topic, options.member_settings))
    except Exception as e:
        result.error = _describe(e)
    finally:
        with contextlib.suppress(Exception):
            delete_topic(broker.bootstrap, topic)
    return result


def warm_up(broker: RunningBroker, options: GroupOptions) -> None:
    """A settled group and a few seconds of commits that nothing is measured from."""
    topic = f"bench-groups-warm-up-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic, PARTITIONS)
    group = f"bench-warm-up-{uuid.uuid4().hex[:8]}"
    members = [Member(broker.bootstrap, topic, group, options.member_settings) for _ in range(2)]
    try:
        settled_at(members)
    finally:
        for member in members:
            member.close()
    commit_rate(broker.bootstrap, topic, WARM_UP_COMMIT_SECONDS)
    delete_topic(broker.bootstrap, topic)


@contextlib.contextmanager
def _running(
    options: GroupOptions, log: Callable[[str], None]
) -> Iterator[dict[str, RunningBroker]]:
    with contextlib.ExitStack() as stack:
        workroot = options.workdir
        if workroot is None:
            workroot = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-grp-")))
        running: dict[str, RunningBroker] = {}
        for name in options.brokers:
            broker = BROKERS[name]()
            reason = broker.unavailable()
            if reason is not None:
                log(f"{name}: unavailable: {reason}")
                continue
            log(f"{name}: starting")
            try:
                started = stack.enter_context(broker.run(workroot / name))
                warm_up(started, options)
            except Exception as e:
                log(f"{name}: left out: {_describe(e)}")
                continue
            running[name] = started
            log(f"{name}: {started.version} ready on {started.bootstrap}")
        yield running


def run_group_benchmark(
    options: GroupOptions, log: Callable[[str], None]
) -> tuple[dict[str, str], list[GroupMeasurement]]:
    """Starts the brokers, measures each in turn, stops them; returns versions and figures."""
    results: list[GroupMeasurement] = []
    with _running(options, log) as running:
        versions = {name: broker.version for name, broker in running.items()}
        names = list(running)
        for repetition in range(options.repetitions):
            shift = repetition % max(len(names), 1)
            for name in names[shift:] + names[:shift]:
                result = measure(running[name], repetition, options)
                results.append(result)
                log(progress_line(result, options.repetitions))
    return versions, results


def progress_line(result: GroupMeasurement, repetitions: int) -> str:
    head = f"[{result.repetition + 1}/{repetitions}] groups {result.broker:<8}"
    if result.error is not None:
        return f"{head} FAILED: {result.error.splitlines()[0]}"
    times = "  ".join(f"{c} {result.seconds[c]:6.2f} s" for c in CHANGES if c in result.seconds)
    return f"{head} {times}  commits {result.commits_per_second or 0:8.0f}/s"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(results: list[GroupMeasurement]) -> dict[str, dict[str, float | None]]:
    """Each broker's medians: seconds per change, commits per second."""
    summary: dict[str, dict[str, float | None]] = {}
    for name in dict.fromkeys(r.broker for r in results):
        mine = [r for r in results if r.broker == name and r.error is None]
        figures: dict[str, float | None] = {
            change: _median([r.seconds[change] for r in mine if change in r.seconds])
            for change in CHANGES
        }
        figures["commits_per_second"] = _median(
            [r.commits_per_second for r in mine if r.commits_per_second is not None]
        )
        summary[name] = figures
    return summary


def format_report(
    versions: Mapping[str, str], results: list[GroupMeasurement], subject: str
) -> str:
    summary = summarise(results)
    lines = ["Consumer groups (medians)", ""]
    lines.append(
        f"{'broker':<10}"
        + "".join(f"{change + ' s':>12}" for change in CHANGES)
        + f"{'commits/s':>12}  version"
    )

    def cell(value: float | None, fmt: str) -> str:
        return format(value, fmt) if value is not None else "-"

    for name, figures in summary.items():
        lines.append(
            f"{name:<10}"
            + "".join(f"{cell(figures[c], '12.2f'):>12}" for c in CHANGES)
            + f"{cell(figures['commits_per_second'], '12.0f'):>12}  {versions.get(name, '')}"
        )
    lines.extend(
        f"  {r.broker} repetition {r.repetition + 1}: {r.error}"
        for r in results
        if r.error is not None
    )
    mine = summary.get(subject)
    if mine is not None:
        for other, theirs in summary.items():
            if other == subject:
                continue
            lines.append("")
            lines.append(f"{subject} / {other}:")
            lines.extend(
                f"  {change} settling time ratio: "
                f"{_ratio(mine[change], theirs[change])}  (target <= 1)"
                for change in CHANGES
            )
            lines.append(
                "  commit round trips/s ratio: "
                f"{_ratio(mine['commits_per_second'], theirs['commits_per_second'])}"
                "  (target >= 0.5)"
            )
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def to_json(
    versions: Mapping[str, str], results: list[GroupMeasurement], subject: str
) -> dict[str, Any]:
    return {
        "subject": subject,
        "versions": dict(versions),
        "medians": summarise(results),
        "runs": [
            {
                "broker": r.broker,
                "repetition": r.repetition,
                "seconds": r.seconds,
                "commits_per_second": r.commits_per_second,
                "error": r.error,
            }
            for r in results
        ],
    }
