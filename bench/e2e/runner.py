"""Running the matrix against every broker in one invocation, the same client and settings
for all.

All the brokers are started first and stay up to the end; each in turn gets a warm-up
(a produce and a catch-up read, which also makes Kafka create its consumer offsets topic
and compile its hot paths) before anything is measured. Then for each repetition and each
cell, every broker runs the cell on a topic of its own, which is deleted afterwards. The
order of the brokers rotates from one cell and repetition to the next, so that no broker
always runs first or last, when the machine (2 cores here, shared with the client) is in a
different state.

A broker that is unavailable, fails to start or fails its warm-up is left out with the
reason; a run that fails is recorded with its error and the matrix goes on.
"""

from __future__ import annotations

import contextlib
import tempfile
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.e2e import profiling
from bench.e2e.brokers import BROKERS, Broker, Odradek, RunningBroker
from bench.e2e.cells import Cell
from bench.e2e.consumer import ConsumeResult, FetchSettings, catch_up
from bench.e2e.producer import ProduceResult, ProduceSettings, produce
from bench.e2e.topics import create_topic, delete_topic
from bench.e2e.usage import NO_MEMORY, Memory, UsageMonitor, is_running

PRODUCE_TIMEOUT = 120.0
STALL_TIMEOUT = 30.0
WARM_UP_BATCH = 64 * 1024


@dataclass(frozen=True)
class Options:
    """What to run, as chosen on the command line."""

    brokers: tuple[str, ...]
    cells: tuple[Cell, ...]
    repetitions: int
    warm_up_bytes: int
    fetch: FetchSettings
    buffer_memory: int
    idempotence: bool
    profile_dir: Path | None = None
    workdir: Path | None = None


@dataclass(frozen=True)
class Measurement:
    """One broker's figures for one cell in one repetition."""

    cell: Cell
    broker: str
    repetition: int
    produce: ProduceResult | None
    consume: ConsumeResult | None
    #: Peak resident memory of the broker while the run lasted.
    memory: Memory
    broker_cpu_produce: float
    broker_cpu_consume: float
    error: str | None = None


@dataclass
class BrokerStatus:
    """A broker as the benchmark found it."""

    name: str
    version: str | None = None
    unavailable: str | None = None
    peak_memory: Memory = NO_MEMORY
    log_dir: str | None = None


@dataclass
class Profile:
    """Where the subject's profile went and its summary."""

    tool: str
    files: list[str]
    summary: str


@dataclass
class BenchRun:
    """Everything one invocation measured."""

    options: Options
    brokers: dict[str, BrokerStatus]
    measurements: list[Measurement] = field(default_factory=list)
    profile: Profile | None = None


def _rotated(names: list[str], by: int) -> list[str]:
    if not names:
        return names
    by %= len(names)
    return names[by:] + names[:by]


def _topic(cell_index: int, repetition: int) -> str:
    return f"bench-c{cell_index}-r{repetition}-{uuid.uuid4().hex[:8]}"


def _produce_settings(cell: Cell, options: Options) -> ProduceSettings:
    return ProduceSettings(
        acks=cell.acks,
        linger_ms=cell.linger_ms,
        batch_size=cell.batch_size,
        record_size=cell.record_size,
        records=cell.records,
        throughput=cell.throughput,
        buffer_memory=options.buffer_memory,
        idempotence=options.idempotence,
    )


def _describe(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(error)).strip()


def measure(
    broker: RunningBroker,
    monitor: UsageMonitor,
    cell: Cell,
    topic: str,
    repetition: int,
    options: Options,
) -> Measurement:
    """Runs one cell against one broker on a fresh topic, then deletes the topic."""
    produced: ProduceResult | None = None
    consumed: ConsumeResult | None = None
    cpu_produce = cpu_consume = 0.0
    error: str | None = None
    monitor.start_window()
    try:
        create_topic(broker.bootstrap, topic, cell.partitions)
        cpu_start = monitor.cpu_seconds()
        produced = produce(
            broker.bootstrap,
            topic,
            cell.partitions,
            _produce_settings(cell, options),
            timeout=PRODUCE_TIMEOUT,
        )
        cpu_produced = monitor.cpu_seconds()
        cpu_produce = cpu_produced - cpu_start
        if cell.consumes:
            consumed = catch_up(
                broker.bootstrap,
                topic,
                cell.partitions,
                cell.partitions + produced.records,
                options.fetch,
                stall_timeout=STALL_TIMEOUT,
            )
            cpu_consume = monitor.cpu_seconds() - cpu_produced
    except Exception as e:
        error = _describe(e)
    finally:
        memory = monitor.window_peak()
        try:
            delete_topic(broker.bootstrap, topic)
        except Exception as e:
            error = error or f"deleting {topic}: {_describe(e)}"
    return Measurement(
        cell=cell,
        broker=broker.name,
        repetition=repetition,
        produce=produced,
        consume=consumed,
        memory=memory,
        broker_cpu_produce=cpu_produce,
        broker_cpu_consume=cpu_consume,
        error=error,
    )


def warm_up(broker: RunningBroker, options: Options) -> None:
    """A produce and catch-up read that nothing is measured from."""
    topic = f"bench-warm-up-{uuid.uuid4().hex[:8]}"
    record_size = options.cells[0].record_size if options.cells else 1024
    create_topic(broker.bootstrap, topic, 1)
    settings = ProduceSettings(
        acks="1",
        linger_ms=5,
        batch_size=WARM_UP_BATCH,
        record_size=record_size,
        records=max(1, options.warm_up_bytes // record_size),
        buffer_memory=options.buffer_memory,
    )
    result = produce(broker.bootstrap, topic, 1, settings, timeout=PRODUCE_TIMEOUT)
    catch_up(
        broker.bootstrap,
        topic,
        1,
        1 + result.records,
        options.fetch,
        stall_timeout=STALL_TIMEOUT,
    )
    delete_topic(broker.bootstrap, topic)


def _make_broker(name: str, options: Options, profile_tool: str | None) -> Broker:
    if name == Odradek.name and profile_tool == "cProfile" and options.profile_dir:
        return Odradek(cprofile_output=options.profile_dir / "odradek.pstats")
    return BROKERS[name]()


def run_benchmark(options: Options, log: Callable[[str], None]) -> BenchRun:
    """Starts the brokers, runs the matrix and stops them; `log` hears of progress."""
    statuses = {name: BrokerStatus(name) for name in options.brokers}
    run = BenchRun(options=options, brokers=statuses)
    profile_tool: str | None = None
    if options.profile_dir is not None:
        options.profile_dir.mkdir(parents=True, exist_ok=True)
        reason = profiling.py_spy_unavailable()
        profile_tool = "py-spy" if reason is None else "cProfile"
        log(f"profiling odradek with {profile_tool}" + (f" ({reason})" if reason else ""))

    with contextlib.ExitStack() as stack:
        workroot = options.workdir
        if workroot is None:
            workroot = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-e2e-")))
        running: dict[str, RunningBroker] = {}
        monitors: dict[str, UsageMonitor] = {}
        for name in options.brokers:
            status = statuses[name]
            broker = _make_broker(name, options, profile_tool)
            status.unavailable = broker.unavailable()
            if status.unavailable is not None:
                log(f"{name}: unavailable: {status.unavailable}")
                continue
            log(f"{name}: starting")
            try:
                started = stack.enter_context(broker.run(workroot / name))
            except Exception as e:
                status.unavailable = f"did not start: {_describe(e)}"
                log(f"{name}: {status.unavailable}")
                continue
            status.version = started.version
            status.log_dir = str(started.log_file.parent)
            monitor = UsageMonitor(started.pid)
            stack.callback(monitor.close)
            try:
                warm_up(started, options)
            except Exception as e:
                status.unavailable = f"warm-up failed: {_describe(e)}\n{started.log_tail()}"
                log(f"{name}: {status.unavailable}")
                continue
            running[name] = started
            monitors[name] = monitor
            log(f"{name}: {started.version} ready on {started.bootstrap}")

        recording: profiling.PySpyRecording | None = None
        if profile_tool == "py-spy" and Odradek.name in running and options.profile_dir:
            output = options.profile_dir / "odradek.speedscope.json"
            recording = profiling.PySpyRecording(running[Odradek.name].pid, output)
            run.profile = Profile("py-spy", [str(output)], "")

        names = list(running)
        for repetition in range(options.repetitions):
            for index, cell in enumerate(options.cells):
                for name in _rotated(names, repetition + index):
                    serving = running[name]
                    if not is_running(serving.pid):
                        # Every later run would only wait out its timeouts.
                        gone = f"exited during the run\n{serving.log_tail()}"
                        statuses[name].unavailable = gone
                        log(f"{name}: {gone}")
                        names.remove(name)
                        continue
                    result = measure(
                        serving,
                        monitors[name],
                        cell,
                        _topic(index, repetition),
                        repetition,
                        options,
                    )
                    run.measurements.append(result)
                    log(progress_line(result, repetition, options.repetitions))

        if recording is not None and run.profile is not None:
            run.profile.summary = recording.stop()
        for name, monitor in monitors.items():
            statuses[name].peak_memory = monitor.peak
        if options.workdir is None:
            # The temporary directory, logs included, goes with the brokers.
            for status in statuses.values():
                status.log_dir = None

    if profile_tool == "cProfile" and options.profile_dir and Odradek.name in running:
        stats = options.profile_dir / "odradek.pstats"
        run.profile = Profile("cProfile", [str(stats)], profiling.summarise_pstats(stats))
    if run.profile is not None and options.profile_dir is not None:
        summary = options.profile_dir / "odradek-top.txt"
        summary.write_text(run.profile.summary + "\n")
        run.profile.files.append(str(summary))
    return run


def progress_line(result: Measurement, repetition: int, repetitions: int) -> str:
    """One line per run, for the console while the matrix goes on."""
    head = f"[{repetition + 1}/{repetitions}] {result.cell.name:<58} {result.broker:<8}"
    if result.error is not None:
        return f"{head} FAILED: {result.error.splitlines()[0]}"
    parts = []
    if result.produce is not None:
        latency = result.produce.latency_ms
        parts.append(f"produce {result.produce.mb_per_second:7.1f} MB/s p99 {latency.p99:8.2f} ms")
    if result.consume is not None:
        parts.append(f"consume {result.consume.mb_per_second:7.1f} MB/s")
    parts.append(f"rss {result.memory.rss / (1 << 20):6.0f} MB")
    return f"{head} " + "  ".join(parts)
