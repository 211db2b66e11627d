"""Differential test against kio, an independent implementation of Kafka's protocol.

For every message and version that both implementations know, a random message is
encoded by Odradek, decoded by kio and re-encoded by kio: the bytes must agree, and
Odradek must read kio's bytes back into the message it started from.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odradek.protocol.codec import decode, encode
from odradek.protocol.generator.spec import FieldSpec, MessageSpec, snake_case
from tests.protocol.spec_strategies import INT_RANGES, Strategies, cases, message_class

kio_index = pytest.importorskip("kio.schema.index")
kio_serial = pytest.importorskip("kio.serial")
from kio.schema.errors import ErrorCode  # noqa: E402
from kio.static.constants import EntityType  # noqa: E402

ENTITY_TYPES = {
    "request": EntityType.request,
    "response": EntityType.response,
    "header": EntityType.header,
    "data": EntityType.data,
}

# kio turns fields named like durations and timestamps into timedelta and datetime
# objects, which hold a narrower range than Kafka's integers; the bytes compared are
# still every bit of the message.
KIO_INTS = {**INT_RANGES, "int32": (0, 2**31 - 1), "int64": (0, 2**40)}
KIO_ERROR_CODES = st.sampled_from(sorted(int(e) for e in ErrorCode))


def _kio_override(f: FieldSpec) -> st.SearchStrategy[Any] | None:
    # kio reads error codes into an enum of the codes it knows.
    if f.type == "int16" and f.py_name.endswith("error_code"):
        return KIO_ERROR_CODES
    return None


def _kio_class(spec: MessageSpec, version: int) -> Any | None:
    entity = ENTITY_TYPES.get(spec.type)
    if entity is None or spec.directory != "clients":
        return None
    name = snake_case(spec.name.removesuffix("Request").removesuffix("Response"))
    path = kio_index.schema_name_map.get(name, {}).get(version, {}).get(entity)
    if path is None:
        return None
    module, _, attr = path.partition(":")
    import importlib

    return getattr(importlib.import_module(module), attr)


# Share-group state APIs were still changing when these two spec snapshots were taken:
# kio's PartitionResult of ReadShareGroupStateSummaryResponse v0 has a field ours lacks.
DIFFERENT_SNAPSHOTS = {("ReadShareGroupStateSummaryResponse", 0)}

SHARED = [
    (spec, v)
    for spec, v in cases()
    if _kio_class(spec, v) is not None and (spec.name, v) not in DIFFERENT_SNAPSHOTS
]


def test_many_messages_are_shared() -> None:
    assert len(SHARED) > 500


@pytest.mark.parametrize("case", SHARED, ids=lambda c: f"{c[0].name}-v{c[1]}")
@settings(max_examples=12)
@given(data=st.data())
def test_odradek_and_kio_agree(case: tuple[MessageSpec, int], data: st.DataObject) -> None:
    spec, version = case
    kio_cls = _kio_class(spec, version)
    cls = message_class(spec)
    message = data.draw(Strategies(spec, ints=KIO_INTS, override=_kio_override).message(version))
    # kio keeps no unknown tagged fields; compare messages without them.
    message = _without_unknown_tags(message)
    ours = encode(message, version)

    theirs_message, size = kio_serial.entity_reader(kio_cls)(ours, 0)
    assert size == len(ours)
    out = io.BytesIO()
    kio_serial.entity_writer(kio_cls)(out, theirs_message)
    theirs = out.getvalue()

    assert theirs == ours
    assert decode(cls, theirs, version) == message


def _without_unknown_tags(value: Any) -> Any:
    if hasattr(value, "__struct_fields__"):
        for name in value.__struct_fields__:
            if name == "unknown_tagged_fields":
                value.unknown_tagged_fields = None
            else:
                _without_unknown_tags(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            _without_unknown_tags(item)
    return value
