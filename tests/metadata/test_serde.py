"""Metadata records framed in record values, and the batches of the metadata log."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odradek.metadata.records import VersionedRecord
from odradek.metadata.serde import (
    MetadataParseError,
    decode_record,
    encode_metadata_batch,
    encode_record,
    metadata_batch,
    read_metadata_batches,
    record_batch,
)
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.no_op_record import NoOpRecord
from odradek.protocol.messages.metadata.topic_record import TopicRecord
from odradek.protocol.records.batch import decode_batch, encode_batch
from odradek.protocol.records.batch_header import NO_PRODUCER_ID
from odradek.protocol.records.control import ControlRecordType, control_batch
from odradek.protocol.records.record import Record
from tests.protocol.spec_strategies import Strategies, all_specs

METADATA_CASES = [
    (spec, version)
    for spec in all_specs()
    if spec.directory == "metadata"
    for version in range(spec.valid_versions.lowest, spec.valid_versions.highest + 1)
]


def test_frame_layout() -> None:
    record = FeatureLevelRecord(name="metadata.version", feature_level=21)
    # frame version 1, api key 12, version 0, then the flexible body:
    # compact string (length+1), int16, no tagged fields.
    assert encode_record(VersionedRecord(record, 0)) == (
        b"\x01\x0c\x00" + b"\x11metadata.version" + b"\x00\x15" + b"\x00"
    )


@pytest.mark.parametrize(
    ("spec", "version"), METADATA_CASES, ids=[f"{s.name}-v{v}" for s, v in METADATA_CASES]
)
@settings(max_examples=10)
@given(data=st.data())
def test_every_record_at_every_version_round_trips(spec: Any, version: int, data: Any) -> None:
    message = data.draw(Strategies(spec).message(version))
    framed = VersionedRecord(message, version)
    decoded = decode_record(encode_record(framed))
    assert decoded.version == version
    assert decoded.message == message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"\x00\x0c\x00", "frame version 0"),
        (b"\x02\x0c\x00", "unknown frame version 2"),
        (b"\x01\x10\x00\x00", "unknown metadata record type 16"),
        (b"\x01\x14\x00\x00\x00", "garbage"),
        (b"\x01\x02\x00\x05ab", "failed to deserialize"),
        (b"\x01\xff\xff\x03\x00", "too large"),
        (b"\x01", "error while reading type"),
    ],
)
def test_malformed_values_are_refused(value: bytes, problem: str) -> None:
    with pytest.raises(MetadataParseError, match=problem):
        decode_record(value)


def test_batch_looks_like_kraft_writes_it() -> None:
    records = [
        VersionedRecord(TopicRecord(name="a", topic_id=uuid.UUID(int=7)), 0),
        VersionedRecord(NoOpRecord(), 0),
    ]
    data = encode_metadata_batch(records, base_offset=40, leader_epoch=5, append_time_ms=1234)
    batch = decode_batch(data)
    assert batch.base_offset == 40
    assert batch.partition_leader_epoch == 5
    assert batch.base_timestamp == batch.max_timestamp == 1234
    assert batch.producer_id == NO_PRODUCER_ID
    assert not batch.is_control
    assert not batch.is_transactional
    assert [(r.offset_delta, r.timestamp_delta, r.key) for r in batch.records] == [
        (0, 0, None),
        (1, 0, None),
    ]
    decoded = metadata_batch(batch)
    assert decoded.base_offset == 40
    assert decoded.last_offset == 41
    assert decoded.leader_epoch == 5
    assert decoded.append_time_ms == 1234
    assert [r.message for r in decoded.records] == [r.message for r in records]
    assert [offset for offset, _ in decoded.with_offsets()] == [40, 41]


def test_control_batches_are_skipped() -> None:
    data = encode_batch(
        control_batch(ControlRecordType.LEADER_CHANGE, b"\x00\x00", base_offset=0, timestamp=1)
    ) + encode_metadata_batch(
        [VersionedRecord(NoOpRecord(), 0)], base_offset=1, leader_epoch=1, append_time_ms=2
    )
    assert [b.base_offset for b in read_metadata_batches(data)] == [1]


def test_a_null_value_is_refused() -> None:
    batch = record_batch(
        [VersionedRecord(NoOpRecord(), 0)], base_offset=0, leader_epoch=0, append_time_ms=0
    )
    broken = msgspec.structs.replace(batch, records=(Record(0, 0, None, None),))
    with pytest.raises(MetadataParseError, match="null value"):
        metadata_batch(broken)


def test_an_empty_batch_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        record_batch([], base_offset=0, leader_epoch=0, append_time_ms=0)
