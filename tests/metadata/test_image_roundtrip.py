"""An image written as records and replayed from the empty image is the same image.

This is the property behind metadata snapshots (Kafka's ``TopicsImageTest`` and its
siblings): a snapshot is ``image.to_records()``, and loading it must lose nothing.
The records go through the log's framing and batches too, as a snapshot file would.
"""

from __future__ import annotations

from hypothesis import given

from odradek.metadata.delta import replay_records
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.metadata.serde import encode_metadata_batch, read_metadata_batches
from tests.metadata.strategies import images


@given(images())
def test_records_rebuild_the_image(image: MetadataImage) -> None:
    rebuilt = replay_records(EMPTY_IMAGE, image.to_records(), image.provenance)
    assert rebuilt == image


@given(images())
def test_records_survive_the_log_format(image: MetadataImage) -> None:
    records = list(image.to_records())
    if not records:
        assert image.is_empty()
        return
    data = encode_metadata_batch(records, base_offset=0, leader_epoch=3, append_time_ms=7)
    (batch,) = read_metadata_batches(data)
    assert [r.message for r in batch.records] == [r.message for r in records]
    assert replay_records(EMPTY_IMAGE, batch.records, image.provenance) == image
