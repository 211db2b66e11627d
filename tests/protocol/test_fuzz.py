"""Random and mutated bytes into every decoder: only DecodeError ever comes out.

Each case also checks that decoding allocates memory in proportion to the input, not
to lengths and counts the input claims: a frame that announces a two-gigabyte string
must fail at once, not try to build it.
"""

from __future__ import annotations

import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odradek.protocol.codec import DecodeError, decode, encode
from odradek.protocol.framing import read_request_body, read_request_header
from odradek.protocol.generator.spec import MessageSpec
from tests.protocol.spec_strategies import Strategies, cases, message_class

CASES = cases()

#: Decoding may hold this many times the input in Python objects, plus a constant.
MEMORY_FACTOR = 200
MEMORY_CONSTANT = 256 * 1024


def _decode_only_fails_cleanly(cls: type, data: bytes, version: int) -> None:
    tracemalloc.start()
    try:
        decode(cls, data, version, allow_trailing=True)
    except DecodeError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak <= MEMORY_FACTOR * len(data) + MEMORY_CONSTANT, (cls, version, len(data), peak)


def _mutations(rng: random.Random, data: bytes) -> list[bytes]:
    out = [data[:i] for i in range(len(data))]  # every truncation
    for _ in range(40):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            if not b:
                break
            i = rng.randrange(len(b))
            b[i] = rng.choice((0x00, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        out.append(bytes(b))
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].name}-v{c[1]}")
@settings(max_examples=6)
@given(data=st.data())
def test_mutated_messages_raise_only_decode_error(
    case: tuple[MessageSpec, int], data: st.DataObject
) -> None:
    spec, version = case
    cls = message_class(spec)
    message = data.draw(Strategies(spec).message(version))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for mutated in _mutations(rng, encode(message, version)):
        _decode_only_fails_cleanly(cls, mutated, version)


@pytest.mark.parametrize("case", CASES[::7], ids=lambda c: f"{c[0].name}-v{c[1]}")
@given(raw=st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(case: tuple[MessageSpec, int], raw: bytes) -> None:
    spec, version = case
    _decode_only_fails_cleanly(message_class(spec), raw, version)


def test_huge_claimed_lengths_fail_without_allocating() -> None:
    from odradek.protocol.messages.clients.metadata_request import MetadataRequest

    # Metadata v1: topics array of 2**31-1 elements, in a 4-byte body.
    _decode_only_fails_cleanly(MetadataRequest, b"\x7f\xff\xff\xff", 1)
    # Metadata v9 (flexible): the same, as a compact array length.
    _decode_only_fails_cleanly(MetadataRequest, b"\xff\xff\xff\xff\x07", 9)
    with pytest.raises(DecodeError):
        decode(MetadataRequest, b"\x7f\xff\xff\xff", 1)


@given(raw=st.binary(max_size=300))
def test_request_frames_raise_only_decode_error(raw: bytes) -> None:
    try:
        header, api, pos = read_request_header(raw)
        read_request_body(api, header.request_api_version, raw, pos)
    except DecodeError:
        pass
