"""The metadata log of a quorum of one voter: ``__cluster_metadata-0`` and ``quorum-state``.

With a single voter, Raft has nothing to negotiate: at every start the voter is the
only candidate, wins the next epoch at once, persists that in ``quorum-state`` (so it
never reuses an epoch) and writes a LeaderChange control batch, as Kafka's KRaft
leader does. A batch is committed as soon as it is flushed to disk, because the
majority of one has it.

The files are Kafka's: the log is an ordinary partition log in the metadata log dir,
its batches carry the leader epoch, and ``quorum-state`` is the JSON of
``raft/QuorumStateData.json`` that Kafka's ``FileQuorumStateStore`` writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from odradek.metadata.serde import MetadataBatch, encode_metadata_batch, metadata_batch
from odradek.protocol.codec import encode
from odradek.protocol.messages.clients.leader_change_message import LeaderChangeMessage, Voter
from odradek.protocol.records.batch import encode_batch, iter_batches
from odradek.protocol.records.control import ControlRecordType, control_batch
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from odradek.storage.log_files import write_atomically
from odradek.storage.producer_state import AppendOrigin

log = logging.getLogger(__name__)

METADATA_TOPIC = "__cluster_metadata"
METADATA_PARTITION_DIR = f"{METADATA_TOPIC}-0"
QUORUM_STATE_FILE = "quorum-state"
#: Kafka's metadata log segments: ``metadata.log.segment.bytes`` and friends.
METADATA_LOG_CONFIG = LogConfig(segment_bytes=1024 * 1024 * 1024, retention_ms=-1)
READ_CHUNK = 8 * 1024 * 1024


class SingleVoterLog:
    """The metadata log of a one-voter quorum, led by this node."""

    def __init__(self, metadata_dir: Path, node_id: int, time_ms: Callable[[], int]) -> None:
        self.node_id = node_id
        self.time_ms = time_ms
        self.directory = metadata_dir / METADATA_PARTITION_DIR
        self.state_file = self.directory / QUORUM_STATE_FILE
        self.log = Log.open(self.directory, METADATA_LOG_CONFIG, time_ms=time_ms)
        self.epoch = self._read_epoch()

    def _read_epoch(self) -> int:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return 0
        return int(data.get("leaderEpoch", 0))

    def committed_batches(self) -> Iterator[MetadataBatch]:
        """Every metadata batch in the log, in order (what a restart replays)."""
        offset = self.log.log_start_offset
        end = self.log.log_end_offset
        while offset < end:
            data = self.log.read(offset, READ_CHUNK).region.read()
            if not data:
                break
            for batch in iter_batches(data):
                offset = batch.last_offset + 1
                if not batch.is_control:
                    yield metadata_batch(batch)

    def become_leader(self) -> int:
        """Win the next epoch: persist it, then write the LeaderChange control batch."""
        self.epoch += 1
        state = {
            "clusterId": "",
            "leaderId": self.node_id,
            "leaderEpoch": self.epoch,
            "votedId": -1,
            "appliedOffset": 0,
            "currentVoters": [{"voterId": self.node_id}],
            "data_version": 0,
        }
        write_atomically(self.state_file, json.dumps(state).encode())
        message = LeaderChangeMessage(
            version=0,
            leader_id=self.node_id,
            voters=[Voter(voter_id=self.node_id)],
            granting_voters=[Voter(voter_id=self.node_id)],
        )
        batch = control_batch(
            ControlRecordType.LEADER_CHANGE,
            encode(message, 0),
            timestamp=self.time_ms(),
            base_offset=self.log.log_end_offset,
            partition_leader_epoch=self.epoch,
        )
        self._append(encode_batch(batch))
        log.info("leader of the metadata log at epoch %d", self.epoch)
        return self.epoch

    @property
    def next_offset(self) -> int:
        return self.log.log_end_offset

    def append(self, batch: MetadataBatch) -> None:
        """Write one metadata batch at its offsets and flush it: then it is committed."""
        data = encode_metadata_batch(
            batch.records,
            base_offset=batch.base_offset,
            leader_epoch=batch.leader_epoch,
            append_time_ms=batch.append_time_ms,
        )
        self._append(data)

    def _append(self, data: bytes) -> None:
        self.log.append_as_leader(data, self.epoch, AppendOrigin.RAFT_LEADER)
        self.log.flush()
        self.log.maybe_update_high_watermark(self.log.log_end_offset)

    def close(self) -> None:
        self.log.close()
