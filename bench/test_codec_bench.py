"""Message codec hot paths: parsing Produce requests and encoding Fetch responses.

The peer, measured in the same run on the same message, is kio, an independent
implementation of Kafka's protocol whose reader is compiled native code: its time is
the group's baseline, so a ratio above 1 means Odradek's generated pure-Python code
is the faster of the two.

* ``produce request, N partitions`` -- decoding a Produce v9 request body whose N
  partitions each carry a 16 KiB batch (records stay raw: a memoryview slice each);
* ``fetch response, 100 partitions`` -- encoding a Fetch v12 response of 100
  partitions around 64 KiB of record bytes each, into buffers ready for writev.

Run with ``python3 -m pytest bench/ --benchmark-only``.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from odradek.protocol.codec import decode, encode, encode_buffers
from odradek.protocol.messages.clients.fetch_response import (
    FetchableTopicResponse,
    FetchResponse,
    PartitionData,
)
from odradek.protocol.messages.clients.produce_request import (
    PartitionProduceData,
    ProduceRequest,
    TopicProduceData,
)

kio_serial = pytest.importorskip("kio.serial")
from kio.schema.fetch.v12.response import FetchResponse as KioFetchResponse  # noqa: E402
from kio.schema.produce.v9.request import ProduceRequest as KioProduceRequest  # noqa: E402

PRODUCE_VERSION = 9
FETCH_VERSION = 12
BATCH = bytes(range(256)) * 64  # 16 KiB of record bytes
FETCHED = memoryview(bytes(range(256)) * 256)  # 64 KiB of record bytes


def produce_request(partitions: int) -> bytes:
    topics = [
        TopicProduceData(
            name=f"topic-{t}",
            partition_data=[
                PartitionProduceData(index=p, records=BATCH) for p in range(min(partitions, 10))
            ],
        )
        for t in range(max(1, partitions // 10))
    ]
    return encode(ProduceRequest(acks=-1, timeout_ms=30_000, topic_data=topics), PRODUCE_VERSION)


@pytest.mark.parametrize("partitions", [1, 100])
def test_parse_produce_odradek(benchmark: BenchmarkFixture, partitions: int) -> None:
    body = memoryview(produce_request(partitions))
    benchmark.group = f"codec: parse produce request, {partitions} partitions"
    result = benchmark(decode, ProduceRequest, body, PRODUCE_VERSION)
    assert sum(len(t.partition_data) for t in result.topic_data) == partitions


@pytest.mark.parametrize("partitions", [1, 100])
def test_parse_produce_kio(benchmark: BenchmarkFixture, partitions: int) -> None:
    body = produce_request(partitions)
    benchmark.group = f"codec: parse produce request, {partitions} partitions"
    benchmark.extra_info["baseline"] = True
    reader = kio_serial.entity_reader(KioProduceRequest)
    _, size = benchmark(reader, body, 0)
    assert size == len(body)


def fetch_response() -> FetchResponse:
    return FetchResponse(
        session_id=1,
        responses=[
            FetchableTopicResponse(
                topic=f"topic-{t}",
                partitions=[
                    PartitionData(
                        partition_index=p,
                        high_watermark=1_000_000,
                        last_stable_offset=1_000_000,
                        log_start_offset=0,
                        records=FETCHED,
                    )
                    for p in range(10)
                ],
            )
            for t in range(10)
        ],
    )


def test_encode_fetch_odradek(benchmark: BenchmarkFixture) -> None:
    response = fetch_response()
    benchmark.group = "codec: encode fetch response, 100 partitions"
    buffers = benchmark(encode_buffers, response, FETCH_VERSION)
    # Record bytes are passed along, not copied.
    assert sum(1 for b in buffers if b is FETCHED) == 100


def test_encode_fetch_kio(benchmark: BenchmarkFixture) -> None:
    ours = encode(fetch_response(), FETCH_VERSION)
    message: Any
    message, _ = kio_serial.entity_reader(KioFetchResponse)(ours, 0)
    writer = kio_serial.entity_writer(KioFetchResponse)
    benchmark.group = "codec: encode fetch response, 100 partitions"
    benchmark.extra_info["baseline"] = True

    def write() -> bytes:
        out = io.BytesIO()
        writer(out, message)
        return out.getvalue()

    assert benchmark(write) == ours
