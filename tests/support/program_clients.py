"""Kafka clients run as programs: kcat (librdkafka's command-line client), kafkajs (under
node, tools/clients/kafkajs/client.js) and the Java kafka-clients
(tools/clients/java/JavaClient.java).

kafkajs and the Java client take and print records as JSON lines (`records.to_json_line`).
kcat has no such format, so records travel in its own framing: on produce, key and value
separated by a key delimiter and records by a message delimiter (two ASCII control
characters that a record must not contain); on consume, a format string that prints each
record's key and value lengths before the bytes, which keeps binary data intact.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support import processes
from tests.support.cache import INSTALL_HINT, TOOLS_DIR, cache_root, content_digest
from tests.support.client_api import DEFAULT_TIMEOUT, Client
from tests.support.kafka_reference import POM, java_command, kafka_unavailable
from tests.support.records import (
    ConsumedRecord,
    ConsumeTimeout,
    Header,
    Record,
    from_json_line,
    to_json_line,
)

# Status with which tools/clients programs say "timed out before N records".
EXIT_TIMED_OUT = 3
# Time for a program to start and connect, on top of the caller's timeout for the work.
STARTUP_ALLOWANCE = 30.0


def _consumed_lines(
    client: str, output: bytes, count: int, timed_out: bool
) -> list[ConsumedRecord]:
    received = [from_json_line(line) for line in output.decode().splitlines() if line.strip()]
    if timed_out:
        raise ConsumeTimeout(client, count, received)
    return received


def _run_consumer_program(
    client: str, argv: list[str], count: int, timeout: float, env: Mapping[str, str] | None = None
) -> list[ConsumedRecord]:
    try:
        result = processes.run(
            argv, timeout=timeout + STARTUP_ALLOWANCE, env=env, ok_statuses=(0, EXIT_TIMED_OUT)
        )
    except subprocess.TimeoutExpired as expired:
        return _consumed_lines(client, expired.stdout or b"", count, timed_out=True)
    return _consumed_lines(client, result.stdout, count, result.returncode == EXIT_TIMED_OUT)


class Kcat(Client):
    """kcat, librdkafka's command-line producer and consumer.

    Limits of its command line: a record's key and value must not contain the delimiter
    bytes 0x1E and 0x1F, empty keys and values are sent as null (`-Z`), per-record
    timestamps cannot be set, and header names and values must be text without ',',
    '=' or newlines (kcat prints headers as `name=value,...`).
    """

    name = "kcat"

    KEY_DELIMITER = b"\x1f"
    MESSAGE_DELIMITER = b"\x1e"
    # Partition, offset, timestamp, key length, value length and headers on one line,
    # then exactly that many key and value bytes and a newline.
    CONSUME_FORMAT = "%p %o %T %K %S %h\n%k%s\n"

    def unavailable(self) -> str | None:
        if shutil.which("kcat") is None:
            return f"kcat not installed: {INSTALL_HINT}"
        return None

    @staticmethod
    def _settings(config: Mapping[str, Any] | None) -> list[str]:
        return [arg for key, value in (config or {}).items() for arg in ("-X", f"{key}={value}")]

    def _encode(self, record: Record) -> bytes:
        if record.timestamp is not None:
            raise ValueError("kcat cannot set a record's timestamp")
        for part in (record.key, record.value):
            if part == b"":
                raise ValueError("kcat sends an empty key or value as null")
            if part and (self.KEY_DELIMITER in part or self.MESSAGE_DELIMITER in part):
                raise ValueError("kcat cannot send bytes 0x1E or 0x1F in a key or value")
        return (record.key or b"") + self.KEY_DELIMITER + (record.value or b"")

    @staticmethod
    def _header_args(headers: tuple[Header, ...]) -> list[str]:
        args = []
        for name, value in headers:
            try:
                text = f"{name}={value.decode()}" if value is not None else ""
            except UnicodeDecodeError:
                text = ""
            if not text or text.count("=") != 1 or "," in text or "\n" in text:
                raise ValueError(f"kcat cannot send header {name!r}={value!r}")
            args += ["-H", text]
        return args

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        # kcat sets partition and headers for a whole run, so consecutive records that
        # share them go in one run.
        for (partition, headers), run in itertools.groupby(
            records, key=lambda record: (record.partition, record.headers)
        ):
            payload = self.MESSAGE_DELIMITER.join(self._encode(record) for record in run)
            argv = [
                "kcat", "-P", "-b", bootstrap, "-t", topic,
                "-K", self.KEY_DELIMITER.decode(), "-D", self.MESSAGE_DELIMITER.decode(), "-Z",
                *(["-p", str(partition)] if partition is not None else []),
                *self._header_args(headers),
                *self._settings(config),
            ]  # fmt: skip
            processes.run(argv, input=payload, timeout=timeout)

    def consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        *,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[ConsumedRecord]:
        if group is None:
            source = ["-C", "-t", topic, "-o", "beginning"]
        else:
            source = ["-G", group, "-X", "auto.offset.reset=earliest", topic]
        # Unbuffered (-u): records printed before a timeout kills kcat must not be lost.
        argv = [
            "kcat", "-b", bootstrap, "-q", "-u", "-c", str(count), "-f", self.CONSUME_FORMAT,
            *self._settings(config), *source,
        ]  # fmt: skip
        try:
            output = processes.run(argv, timeout=timeout).stdout
        except subprocess.TimeoutExpired as expired:
            raise ConsumeTimeout(
                self.name, count, self._parse(topic, expired.stdout or b"")
            ) from None
        return self._parse(topic, output)

    @staticmethod
    def _parse(topic: str, output: bytes) -> list[ConsumedRecord]:
        received = []
        position = 0
        while True:
            line_end = output.find(b"\n", position)
            if line_end < 0:
                break
            fields = output[position:line_end].decode().split(" ", 5)
            partition, offset, timestamp, key_size, value_size = map(int, fields[:5])
            data = line_end + 1
            key_end = data + max(key_size, 0)
            value_end = key_end + max(value_size, 0)
            if value_end >= len(output):
                break  # cut off by a timeout mid-record
            headers = tuple(
                (name, value.encode())
                for name, _, value in (pair.partition("=") for pair in fields[5].split(","))
                if name
            )
            received.append(
                ConsumedRecord(
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    timestamp=timestamp,
                    key=output[data:key_end] if key_size >= 0 else None,
                    value=output[key_end:value_end] if value_size >= 0 else None,
                    headers=headers,
                )
            )
            position = value_end + 1
        return received


class KafkaJs(Client):
    """kafkajs under node. kafkajs consumes only in a group, so without `group` each call
    joins a group of its own; repeated header names keep their order among themselves
    but not relative to other names."""

    name = "kafkajs"

    SCRIPT = TOOLS_DIR / "clients" / "kafkajs" / "client.js"
    LOCKFILE = TOOLS_DIR / "clients" / "kafkajs" / "package-lock.json"

    def node_modules(self) -> Path:
        """Where tools/clients/build.sh installs kafkajs for the current lockfile."""
        return cache_root() / f"kafkajs-{content_digest(self.LOCKFILE)}" / "node_modules"

    def unavailable(self) -> str | None:
        if shutil.which("node") is None:
            return "node not installed: kafkajs needs Node.js"
        if not (self.node_modules() / "kafkajs").is_dir():
            return f"kafkajs not installed in {self.node_modules()}: {INSTALL_HINT}"
        return None

    def _command(
        self, command: str, bootstrap: str, topic: str, config: Mapping[str, Any] | None
    ) -> list[str]:
        return [
            "node", str(self.SCRIPT), command,
            "--bootstrap-server", bootstrap, "--topic", topic,
            "--options", json.dumps(dict(config or {})),
        ]  # fmt: skip

    def _env(self) -> dict[str, str]:
        return processes.environment(NODE_PATH=str(self.node_modules()))

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        lines = "".join(to_json_line(record) + "\n" for record in records)
        processes.run(
            self._command("produce", bootstrap, topic, config),
            input=lines.encode(),
            timeout=timeout,
            env=self._env(),
        )

    def consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        *,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[ConsumedRecord]:
        argv = self._command("consume", bootstrap, topic, config)
        argv += ["--count", str(count), "--timeout-ms", str(int(timeout * 1000))]
        argv += ["--group", group or f"odradek-kafkajs-{uuid.uuid4()}"]
        return _run_consumer_program(self.name, argv, count, timeout, env=self._env())


class JavaClient(Client):
    """The Java kafka-clients of the Apache Kafka version in tools/kafka/pom.xml."""

    name = "java"
    needs_java = True

    SOURCE = TOOLS_DIR / "clients" / "java" / "JavaClient.java"

    def classes(self) -> Path:
        """Where tools/clients/build.sh compiles the client for the current source and pom."""
        return cache_root() / f"java-client-{content_digest(self.SOURCE, POM)}"

    def unavailable(self) -> str | None:
        reason = kafka_unavailable()
        if reason is not None:
            return reason
        if not (self.classes() / "JavaClient.class").is_file():
            return f"Java client not compiled in {self.classes()}: {INSTALL_HINT}"
        return None

    def _command(
        self, command: str, bootstrap: str, topic: str, config: Mapping[str, Any] | None
    ) -> list[str]:
        settings = [
            arg for key, value in (config or {}).items() for arg in ("--property", f"{key}={value}")
        ]
        return java_command(
            "JavaClient",
            command,
            "--bootstrap-server", bootstrap, "--topic", topic, *settings,
            extra_classpath=[self.classes()],
        )  # fmt: skip

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        lines = "".join(to_json_line(record) + "\n" for record in records)
        processes.run(
            self._command("produce", bootstrap, topic, config),
            input=lines.encode(),
            timeout=timeout + STARTUP_ALLOWANCE,
        )

    def consume(
        self,
        bootstrap: str,
        topic: str,
        count: int,
        *,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[ConsumedRecord]:
        argv = self._command("consume", bootstrap, topic, config)
        argv += ["--count", str(count), "--timeout-ms", str(int(timeout * 1000))]
        if group is not None:
            argv += ["--group", group]
        return _run_consumer_program(self.name, argv, count, timeout)

    def admin(
        self, bootstrap: str, command: str, *args: str, timeout: float = DEFAULT_TIMEOUT
    ) -> str:
        """Runs one of the client's admin commands (`create-topic --topic T --partitions 3`,
        `delete-topic --topic T`, `list-topics`) and returns what it printed."""
        argv = java_command(
            "JavaClient", command, "--bootstrap-server", bootstrap, *args,
            extra_classpath=[self.classes()],
        )  # fmt: skip
        return processes.run(argv, timeout=timeout + STARTUP_ALLOWANCE).stdout.decode()
