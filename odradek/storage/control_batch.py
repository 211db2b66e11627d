"""Reading the transaction marker out of a control batch, for the producer state.

A transaction ends with a control batch holding one COMMIT or ABORT control record
(``docs/implementation.html``, "Control Batches"; the codec is
:mod:`odradek.protocol.records.control`). A control batch with no records is one that
compaction has emptied: it ends nothing.
"""

from __future__ import annotations

from typing import NamedTuple

from odradek.protocol.primitives import Buffer, DecodeError
from odradek.protocol.records.batch import decode_batch
from odradek.protocol.records.control import (
    ControlRecordType,
    control_record,
    decode_end_txn_marker,
)
from odradek.storage.errors import CorruptRecordError


class EndTxnMarker(NamedTuple):
    is_abort: bool
    coordinator_epoch: int


def control_type(batch: Buffer) -> int | None:
    """The type of a control batch's record (ABORT, COMMIT, ...); None if emptied."""
    try:
        decoded = decode_batch(batch, verify_crc=False)
        if not decoded.records:
            return None
        return int(control_record(decoded)[0].type)
    except DecodeError as exc:
        raise CorruptRecordError(f"undecodable control batch: {exc}") from exc


def read_end_txn_marker(batch: Buffer) -> EndTxnMarker | None:
    """The COMMIT/ABORT marker of a transactional control batch, or None if emptied."""
    try:
        decoded = decode_batch(batch, verify_crc=False)
        if not decoded.records:
            return None
        key, value = control_record(decoded)
        if key.type not in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
            raise CorruptRecordError(f"control type {key.type} is not a transaction marker")
        marker = decode_end_txn_marker(value)
    except DecodeError as exc:
        raise CorruptRecordError(f"undecodable transaction marker: {exc}") from exc
    return EndTxnMarker(key.type == ControlRecordType.ABORT, marker.coordinator_epoch)
