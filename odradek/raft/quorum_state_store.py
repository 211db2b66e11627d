"""The ``quorum-state`` file: the election state as one line of JSON.

Kafka's ``FileQuorumStateStore`` (KIP-595, "Quorum State"; the record is
``raft/QuorumStateData.json``). The file sits in the metadata log's directory
(``__cluster_metadata-0/quorum-state``) and holds the JSON form of ``QuorumStateData`` at
one version, plus a ``data_version`` field naming that version::

    {"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,
     "currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}

Version 1 (KIP-853, dynamic quorums) drops the voters and adds ``votedDirectoryId``;
both versions are read, version 0 is written (the voter set here is static, Kafka's
``kraft.version`` 0). A write goes to ``quorum-state.tmp``, is fsync'd and renamed over
the file, so a crash leaves the old state or the new one, never half of either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from odradek.protocol.messages.raft.quorum_state_data import QuorumStateData, Voter
from odradek.raft.election import ElectionState
from odradek.storage.log_files import write_atomically

FILE_NAME = "quorum-state"
DATA_VERSION = "data_version"
_SUPPORTED_VERSIONS = (0, 1)


class QuorumStateError(Exception):
    """The quorum-state file exists but cannot be read."""


def encode_quorum_state(state: ElectionState) -> bytes:
    data = state.to_quorum_state_data()
    document = {
        "clusterId": data.cluster_id,
        "leaderId": data.leader_id,
        "leaderEpoch": data.leader_epoch,
        "votedId": data.voted_id,
        "appliedOffset": data.applied_offset,
        "currentVoters": [{"voterId": v.voter_id} for v in data.current_voters or ()],
        DATA_VERSION: 0,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode_quorum_state(text: bytes | str, voters: Iterable[int] = ()) -> ElectionState:
    """Parse the file's content; ``voters`` fills in the voter set of a version-1 file."""
    try:
        document = json.loads(text.splitlines()[0] if text else text)
    except (ValueError, IndexError) as exc:
        raise QuorumStateError(f"quorum-state is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise QuorumStateError("quorum-state is not a JSON object")
    version = document.get(DATA_VERSION)
    if version not in _SUPPORTED_VERSIONS:
        raise QuorumStateError(
            f"quorum-state data_version {version!r} is not one of {_SUPPORTED_VERSIONS}"
        )
    try:
        data = QuorumStateData(
            leader_id=int(document["leaderId"]),
            leader_epoch=int(document["leaderEpoch"]),
            voted_id=int(document["votedId"]),
            current_voters=[
                Voter(voter_id=int(v["voterId"])) for v in document.get("currentVoters") or ()
            ],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise QuorumStateError(f"quorum-state lacks a field or has a bad one: {exc}") from exc
    try:
        return ElectionState.from_quorum_state_data(data, voters)
    except ValueError as exc:
        raise QuorumStateError(f"quorum-state is invalid: {exc}") from exc


class FileQuorumStateStore:
    """Reads and writes one ``quorum-state`` file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_directory(cls, directory: Path) -> FileQuorumStateStore:
        return cls(directory / FILE_NAME)

    def read(self, voters: Iterable[int] = ()) -> ElectionState | None:
        """The stored state, or None if the file does not exist (a new voter)."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return decode_quorum_state(text, voters)

    def write(self, state: ElectionState) -> None:
        """Replace the file durably (fsync of the file and of its directory)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, encode_quorum_state(state))
