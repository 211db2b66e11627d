"""A broker sent a metadata snapshot drops the partitions of topics the snapshot lacks.

A broker too far behind the metadata log (or new) is sent a snapshot instead of the
log. If topics were deleted meanwhile, the RemoveTopicRecords are not in what it
receives; the delta published with the snapshot (Kafka's ``finishSnapshot``) must
still delete them, or the broker keeps their logs and keeps serving them.
"""

from __future__ import annotations

from pathlib import Path

from odradek.metadata.delta import replay_records
from odradek.metadata.image import MetadataImage, MetadataProvenance
from odradek.metadata.loader import MetadataLoader
from odradek.metadata.records import VersionedRecord
from odradek.metadata.serde import encode_record
from odradek.node.quorum.metadata_listener import MetadataPublisher
from odradek.protocol.messages.metadata.remove_topic_record import RemoveTopicRecord
from odradek.raft.batches import CommittedBatch
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.snapshots import SnapshotContents
from odradek.storage.checkpoints import TopicPartition
from tests.broker.fakes import make_broker


def snapshot_of(image: MetadataImage) -> SnapshotContents:
    """``image`` as the Raft layer hands a snapshot over: framed records in one batch."""
    records = tuple(encode_record(r) for r in image.to_records())
    end = image.provenance.next_offset
    return SnapshotContents(
        snapshot_id=OffsetAndEpoch(end, image.provenance.last_epoch),
        last_contained_log_time_ms=image.provenance.last_log_time_ms,
        batches=(
            CommittedBatch(
                base_offset=end - len(records),
                last_offset=end - 1,
                epoch=image.provenance.last_epoch,
                append_time_ms=image.provenance.last_log_time_ms,
                size_bytes=sum(map(len, records)),
                records=records,
            ),
        ),
    )


def test_a_snapshot_without_a_topic_deletes_its_local_logs(tmp_path: Path) -> None:
    node = make_broker(tmp_path)
    node.create_topic("doomed", 2)
    node.create_topic("kept", 1)
    node.produce("doomed", 0, 3)
    node.produce("kept", 0, 2)
    broker = node.broker
    doomed = broker.image.topics.get_by_name("doomed")
    assert doomed is not None
    log_dir = tmp_path / "logs"
    assert (log_dir / "doomed-0").is_dir()

    # The log moved on without this broker: the topic was deleted, then snapshotted.
    last = broker.image.provenance
    later = replay_records(
        broker.image,
        [VersionedRecord(RemoveTopicRecord(topic_id=doomed.topic_id), 0)],
        MetadataProvenance(last_offset=last.last_offset + 50, last_epoch=last.last_epoch),
    )
    publisher = MetadataPublisher(broker.publish)
    publisher.loader = MetadataLoader(broker.image)
    publisher.handle_load_snapshot(snapshot_of(later))

    assert broker.image == later
    for index in range(2):
        assert broker.replicas.get("doomed", index) is None
        assert broker.logs.get_log(TopicPartition("doomed", index)) is None
        assert not (log_dir / f"doomed-{index}").exists()
    kept = broker.replicas.get("kept", 0)
    assert kept is not None
    assert kept.is_leader
    assert kept.log.log_end_offset == 2
