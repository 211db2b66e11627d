"""Metadata records as values: a generated record class plus the version to write it at.

Every change to the cluster is one of the record types of
``shared/kafka-spec/metadata/*.json`` (``"type": "metadata"``), whose ``apiKey`` is
the record type. The codecs are generated in
:mod:`odradek.protocol.messages.metadata`; this module adds what the metadata
package needs around them:

* :class:`VersionedRecord` -- Kafka's ``ApiMessageAndVersion``: a record and the
  version it is (or will be) serialized at. Commands return lists of these.
* :func:`record_class` -- the class of a record type, for decoding.
* the sentinel broker ids used by partition records (Kafka's ``LeaderConstants``).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, Protocol

from odradek.protocol.codec import MessageCodec
from odradek.protocol.messages import metadata as _messages

#: ``PartitionRecord.Leader`` / ``PartitionChangeRecord.Leader``: the partition has no leader.
NO_LEADER = -1
#: ``PartitionChangeRecord.Leader``: the leader did not change.
NO_LEADER_CHANGE = -2


class MetadataRecord(Protocol):
    """What every generated metadata record class provides."""

    CODEC: ClassVar[MessageCodec]
    API_KEY: ClassVar[int]


class VersionedRecord(NamedTuple):
    """A metadata record and the version it is written at (Kafka's ``ApiMessageAndVersion``)."""

    message: Any
    version: int

    @property
    def api_key(self) -> int:
        """The record type: the ``apiKey`` of the record's spec."""
        key: int = self.message.API_KEY
        return key


class MetadataReplayError(RuntimeError):
    """A record that cannot apply to the image: the log and the image disagree.

    Replaying a committed record never fails in a healthy cluster; this error means
    a bug or a corrupt log, and the process that sees it must not go on serving.
    """


class UnknownRecordTypeError(ValueError):
    """A record type this version of Odradek does not know."""


def record_class(api_key: int) -> Any:
    """The generated class of record type ``api_key``."""
    name = _messages.RECORD_TYPES.get(api_key)
    if name is None:
        raise UnknownRecordTypeError(f"unknown metadata record type {api_key}")
    return _messages.load(name)


def record_type_name(api_key: int) -> str:
    """The spec name of record type ``api_key``, e.g. ``TopicRecord``."""
    return _messages.RECORD_TYPES.get(api_key, f"record type {api_key}")
