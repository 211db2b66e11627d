"""The loader: one image per committed batch, metadata transactions published whole."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odradek.metadata.image import MetadataProvenance
from odradek.metadata.loader import MetadataLoader
from odradek.metadata.records import MetadataReplayError, VersionedRecord
from odradek.metadata.serde import MetadataBatch
from odradek.protocol.messages.metadata.abort_transaction_record import AbortTransactionRecord
from odradek.protocol.messages.metadata.begin_transaction_record import BeginTransactionRecord
from odradek.protocol.messages.metadata.end_transaction_record import EndTransactionRecord
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.no_op_record import NoOpRecord
from odradek.protocol.messages.metadata.topic_record import TopicRecord

MV = FeatureLevelRecord(name="metadata.version", feature_level=21)


def batch(base_offset: int, *messages: Any) -> MetadataBatch:
    return MetadataBatch(
        base_offset=base_offset,
        leader_epoch=2,
        append_time_ms=100 + base_offset,
        records=tuple(VersionedRecord(m, 0) for m in messages),
    )


def topic(n: int) -> TopicRecord:
    return TopicRecord(name=f"t{n}", topic_id=uuid.UUID(int=n))


def test_one_image_per_batch() -> None:
    loader = MetadataLoader()
    (first,) = loader.load_batch(batch(0, MV, topic(1)))
    assert first.image.provenance == MetadataProvenance(
        last_offset=1, last_epoch=2, last_log_time_ms=100
    )
    assert first.delta.topics is not None
    (second,) = loader.load_batch(batch(2, NoOpRecord()))
    assert second.delta.topics is None
    assert second.image.topics is first.image.topics
    assert loader.image.provenance.last_offset == 2


def test_a_transaction_is_published_when_it_ends() -> None:
    loader = MetadataLoader()
    (before,) = loader.load_batch(batch(0, MV))
    # Records before the transaction are published on their own first.
    published = loader.load_batch(batch(1, topic(1), BeginTransactionRecord(name="x"), topic(2)))
    assert [p.image.provenance.last_offset for p in published] == [1]
    assert loader.in_transaction
    assert loader.load_batch(batch(4, topic(3))) == []
    (done,) = loader.load_batch(batch(5, topic(4), EndTransactionRecord(), NoOpRecord()))
    assert sorted(done.image.topics.by_name) == ["t1", "t2", "t3", "t4"]
    assert done.image.provenance.last_offset == 7
    assert before.image.topics.by_name == {}


def test_an_aborted_transaction_leaves_no_trace() -> None:
    loader = MetadataLoader()
    loader.load_batch(batch(0, MV, topic(1)))
    assert loader.load_batch(batch(2, BeginTransactionRecord(name="x"), topic(2))) == []
    (aborted,) = loader.load_batch(batch(4, AbortTransactionRecord(reason="failover")))
    assert sorted(aborted.image.topics.by_name) == ["t1"]
    assert aborted.image.provenance.last_offset == 4


@pytest.mark.parametrize(
    "messages",
    [
        (BeginTransactionRecord(), BeginTransactionRecord()),
        (EndTransactionRecord(),),
        (AbortTransactionRecord(),),
    ],
)
def test_unbalanced_transaction_markers(messages: tuple[Any, ...]) -> None:
    with pytest.raises(MetadataReplayError):
        MetadataLoader().load_batch(batch(0, *messages))


def test_snapshot() -> None:
    loader = MetadataLoader()
    provenance = MetadataProvenance(last_offset=41, last_epoch=3)
    published = loader.load_snapshot(
        [VersionedRecord(MV, 0), VersionedRecord(topic(1), 0)], provenance
    )
    assert published.image.provenance == provenance
    assert list(published.image.topics.by_name) == ["t1"]
    # A later snapshot replaces the image, and its delta removes what it lacks.
    later = MetadataProvenance(last_offset=90, last_epoch=4)
    emptied = loader.load_snapshot([VersionedRecord(MV, 0)], later)
    assert emptied.image.topics.by_name == {}
    assert emptied.delta.topics is not None
    assert emptied.delta.topics.deleted_topic_ids == {uuid.UUID(int=1)}
    assert loader.image is emptied.image
