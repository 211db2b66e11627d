"""A full disk: produce fails with KAFKA_STORAGE_ERROR, and the node recovers when space returns.

The node's log dir is a small tmpfs whose free space a filler file controls. Records
are produced until the disk is full: the broker must answer KAFKA_STORAGE_ERROR (56)
and keep serving. Once the filler is removed, producing works again, and every record
that was acknowledged before, during and after is there.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.odradek_node import OdradekNode, odradek_node

confluent_kafka = pytest.importorskip("confluent_kafka")
admin_module = pytest.importorskip("confluent_kafka.admin")

pytestmark = pytest.mark.timeout(180)

TOPIC = "fills-the-disk"
KAFKA_STORAGE_ERROR = 56


def _mount_tmpfs(path: Path, size_mb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(mount, 48):
        pytest.skip("mounting a tmpfs needs root and a kernel that allows it here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def node(small_disk: Path, tmp_path: Path) -> Iterator[OdradekNode]:
    overrides = {
        "log.dirs": str(small_disk / "data"),
        "log.segment.bytes": str(4 * 1024 * 1024),
        "log.index.size.max.bytes": str(64 * 1024),
    }
    with odradek_node(workdir=tmp_path / "node", overrides=overrides) as n:
        yield n


def _fill(disk: Path, leave_free: int) -> Path:
    """Take all but ``leave_free`` bytes of the disk with one file."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("wb") as f:
        f.write(b"\0" * max(free - leave_free, 0))
    return filler


def test_full_disk_fails_produce_then_recovers(node: OdradekNode, small_disk: Path) -> None:
    admin = admin_module.AdminClient({"bootstrap.servers": node.bootstrap})
    admin.create_topics([admin_module.NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
    acked: list[bytes] = []
    errors: list[int] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            acked.append(msg.value())  # type: ignore[attr-defined]
        else:
            errors.append(err.code())  # type: ignore[attr-defined]

    producer = confluent_kafka.Producer(
        {
            "bootstrap.servers": node.bootstrap,
            "acks": "all",
            "retries": 0,
            "linger.ms": 5,
            "message.timeout.ms": 10_000,
        }
    )

    def produce(count: int, tag: bytes) -> None:
        for i in range(count):
            producer.produce(
                TOPIC, value=tag + b"-%06d-" % i + b"x" * 1000, on_delivery=on_delivery
            )
            producer.poll(0)
        producer.flush(30)

    produce(200, b"before")
    assert len(acked) == 200
    filler = _fill(small_disk, leave_free=256 * 1024)
    produce(2000, b"during")
    assert KAFKA_STORAGE_ERROR in errors, f"no KAFKA_STORAGE_ERROR among {set(errors)}"
    # The node goes on serving: metadata still answers.
    assert TOPIC in admin.list_topics(timeout=10).topics

    filler.unlink()
    time.sleep(0.5)
    before_after = len(acked)
    produce(200, b"after")
    assert len(acked) == before_after + 200, "producing did not recover once space returned"

    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": node.bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([confluent_kafka.TopicPartition(TOPIC, 0, 0)])
    seen: set[bytes] = set()
    deadline = time.monotonic() + 60
    while len(seen) < len(acked) and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is not None and not msg.error():
            seen.add(msg.value())
    consumer.close()
    assert set(acked) <= seen
