"""Every generated message at every version: round trips, version rules, defaults."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odradek.protocol import codec
from odradek.protocol.codec import EncodeError, decode, encode
from odradek.protocol.generator.spec import MessageSpec
from odradek.protocol.generator.write import write_all
from odradek.protocol.messages.clients.api_versions_response import (
    ApiVersion,
    ApiVersionsResponse,
    FinalizedFeatureKey,
)
from odradek.protocol.messages.clients.fetch_request import FetchRequest
from odradek.protocol.messages.clients.produce_request import ProduceRequest
from tests.conftest import REPO, SPEC_ROOT
from tests.protocol.spec_strategies import Strategies, cases, message_class

CASES = cases()


def _id(case: tuple[MessageSpec, int]) -> str:
    return f"{case[0].name}-v{case[1]}"


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "messages"
    write_all(SPEC_ROOT, out)
    committed = REPO / "odradek" / "protocol" / "messages"

    def differences(cmp: filecmp.dircmp[str], prefix: str = "") -> list[str]:
        found = [prefix + n for n in cmp.left_only + cmp.right_only + cmp.diff_files]
        found = [n for n in found if "__pycache__" not in n]
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                found += differences(sub, f"{prefix}{name}/")
        return found

    cmp = filecmp.dircmp(out, committed, ignore=["__pycache__"])
    # dircmp compares size and mtime shallowly; compare contents for the common files.
    diffs = differences(cmp)
    for path in out.rglob("*.py"):
        rel = path.relative_to(out)
        if (committed / rel).read_text() != path.read_text():
            diffs.append(str(rel))
    assert not sorted(set(diffs)), "regenerate with: python3 -m odradek.protocol.generator SPEC"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_default_message_round_trips(case: tuple[MessageSpec, int]) -> None:
    spec, version = case
    cls = message_class(spec)
    message = cls()
    assert decode(cls, encode(message, version), version) == message


@pytest.mark.parametrize("case", CASES, ids=_id)
@given(data=st.data())
def test_random_message_round_trips(case: tuple[MessageSpec, int], data: st.DataObject) -> None:
    spec, version = case
    cls = message_class(spec)
    message = data.draw(Strategies(spec).message(version))
    encoded = encode(message, version)
    assert decode(cls, encoded, version) == message
    # What the buffers hold, joined, is the same message.
    assert b"".join(bytes(b) for b in codec.encode_buffers(message, version)) == encoded


def test_non_ignorable_field_at_version_that_lacks_it_is_an_error() -> None:
    # ProduceRequest.TransactionalId exists from v3 and is not ignorable.
    with pytest.raises(EncodeError, match="transactional_id"):
        encode(ProduceRequest(transactional_id="txn"), 2)
    assert encode(ProduceRequest(transactional_id=None), 2)


def test_ignorable_field_is_dropped_silently() -> None:
    # ApiVersionsResponse.ThrottleTimeMs (v1+) is ignorable.
    v0 = encode(ApiVersionsResponse(throttle_time_ms=100), 0)
    assert decode(ApiVersionsResponse, v0, 0).throttle_time_ms == 0


def test_tagged_fields_with_default_values_are_not_written() -> None:
    response = ApiVersionsResponse(
        error_code=0, api_keys=[ApiVersion(api_key=18, min_version=0, max_version=4)]
    )
    encoded = encode(response, 3)
    # error, compact array of one (3 int16s + empty tag section), throttle, empty tag section
    api = b"\x00\x12\x00\x00\x00\x04\x00"
    assert encoded == b"\x00\x00" + b"\x02" + api + b"\0\0\0\0" + b"\x00"
    with_epoch = encode(
        ApiVersionsResponse(
            finalized_features_epoch=7,
            finalized_features=[FinalizedFeatureKey(name="x", max_version_level=1)],
        ),
        3,
    )
    decoded = decode(ApiVersionsResponse, with_epoch, 3)
    assert decoded.finalized_features_epoch == 7
    assert decoded.finalized_features[0].name == "x"


def test_unknown_tagged_fields_survive_a_round_trip() -> None:
    message = ApiVersionsResponse(unknown_tagged_fields=[(1000, b"abc")])
    again = decode(ApiVersionsResponse, encode(message, 3), 3)
    assert again.unknown_tagged_fields == [(1000, b"abc")]


def test_records_are_decoded_without_a_copy() -> None:
    from odradek.protocol.messages.clients.produce_request import (
        PartitionProduceData,
        TopicProduceData,
    )

    records = bytes(range(256)) * 40
    request = ProduceRequest(
        acks=-1,
        timeout_ms=1000,
        topic_data=[
            TopicProduceData(
                name="t", partition_data=[PartitionProduceData(index=0, records=records)]
            )
        ],
    )
    frame = bytearray(encode(request, 9))
    decoded = decode(ProduceRequest, frame, 9)
    view = decoded.topic_data[0].partition_data[0].records
    assert isinstance(view, memoryview)
    assert view == records
    # The view shares memory with the frame: a change to the frame shows through it.
    start = bytes(frame).index(records)
    frame[start] ^= 0xFF
    assert view[0] == records[0] ^ 0xFF


def test_large_records_travel_as_their_own_buffer() -> None:
    from odradek.protocol.messages.clients.fetch_response import (
        FetchableTopicResponse,
        FetchResponse,
        PartitionData,
    )

    records = memoryview(b"r" * 100_000)
    response = FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="t",
                partitions=[PartitionData(partition_index=p, records=records) for p in range(3)],
            )
        ]
    )
    buffers = codec.encode_buffers(response, 12)
    assert sum(1 for b in buffers if b is records) == 3


def test_fetch_request_reads_what_it_writes_at_every_version() -> None:
    for version in range(FetchRequest.CODEC.lowest, FetchRequest.CODEC.highest + 1):
        message = FetchRequest(max_wait_ms=500, min_bytes=1)
        assert decode(FetchRequest, encode(message, version), version) == message
