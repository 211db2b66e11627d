"""The quorum's timeouts and limits, under Kafka's ``controller.quorum.*`` names.

Kafka's ``QuorumConfig`` (KIP-595, "Configurations"; ``docs/ops.html``, "KRaft"). Every
field is a plain number of milliseconds or bytes; the node's configuration layer reads
the properties and builds one :class:`QuorumConfig` with :meth:`QuorumConfig.from_properties`.

Two more numbers are constants in Kafka rather than configuration, and stay constants
here: how long a Fetch may wait at the leader for new data (:data:`FETCH_MAX_WAIT_MS`) and
the largest batch the leader writes (:data:`MAX_BATCH_SIZE_BYTES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

#: How long the leader parks a Fetch that has nothing to return (Kafka's MAX_FETCH_WAIT_MS).
FETCH_MAX_WAIT_MS = 500
#: The largest batch the leader builds from appended records (Kafka's MAX_BATCH_SIZE_BYTES).
MAX_BATCH_SIZE_BYTES = 8 * 1024 * 1024
#: A leader resigns if a majority has not fetched within this many fetch timeouts.
CHECK_QUORUM_TIMEOUT_FACTOR = 1.5

_PROPERTY_NAMES = {
    "election_timeout_ms": "controller.quorum.election.timeout.ms",
    "fetch_timeout_ms": "controller.quorum.fetch.timeout.ms",
    "election_backoff_max_ms": "controller.quorum.election.backoff.max.ms",
    "request_timeout_ms": "controller.quorum.request.timeout.ms",
    "retry_backoff_ms": "controller.quorum.retry.backoff.ms",
    "append_linger_ms": "controller.quorum.append.linger.ms",
    "fetch_max_bytes": "controller.quorum.fetch.max.bytes",
    "fetch_snapshot_max_bytes": "controller.quorum.fetch.snapshot.max.bytes",
}


@dataclass(frozen=True, slots=True)
class QuorumConfig:
    #: ``controller.quorum.election.timeout.ms``: without a leader for this long (plus a
    #: random amount up to the same again), a voter starts an election.
    election_timeout_ms: int = 1000
    #: ``controller.quorum.fetch.timeout.ms``: a follower that has not heard from its
    #: leader for this long starts an election; 1.5 times it is the leader's check-quorum.
    fetch_timeout_ms: int = 2000
    #: ``controller.quorum.election.backoff.max.ms``: the cap of the random, exponentially
    #: growing pause after a lost election.
    election_backoff_max_ms: int = 1000
    #: ``controller.quorum.request.timeout.ms``: a request without a response after this
    #: long is given up, and the destination may be sent another.
    request_timeout_ms: int = 2000
    #: ``controller.quorum.retry.backoff.ms``: pause after a request that failed.
    retry_backoff_ms: int = 20
    #: ``controller.quorum.append.linger.ms``: how long the leader gathers appended records
    #: into one batch before writing it.
    append_linger_ms: int = 25
    #: ``controller.quorum.fetch.max.bytes``: most log bytes in one Fetch response.
    fetch_max_bytes: int = 1024 * 1024
    #: ``controller.quorum.fetch.snapshot.max.bytes``: most snapshot bytes per FetchSnapshot.
    fetch_snapshot_max_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"{_PROPERTY_NAMES[field.name]} must not be negative")
        if self.fetch_max_bytes == 0 or self.fetch_snapshot_max_bytes == 0:
            raise ValueError("fetch sizes must be at least one byte")

    @property
    def check_quorum_timeout_ms(self) -> int:
        return int(self.fetch_timeout_ms * CHECK_QUORUM_TIMEOUT_FACTOR)

    @property
    def begin_quorum_epoch_interval_ms(self) -> int:
        """How often the leader repeats BeginQuorumEpoch to voters (half a fetch timeout)."""
        return self.fetch_timeout_ms // 2

    @classmethod
    def from_properties(cls, properties: Mapping[str, object]) -> QuorumConfig:
        """Build from parsed properties; absent keys keep Kafka's defaults."""
        values: dict[str, int] = {}
        for attribute, name in _PROPERTY_NAMES.items():
            if name in properties and properties[name] is not None:
                raw = properties[name]
                if not isinstance(raw, int | str):
                    raise ValueError(f"{name} must be an integer, not {raw!r}")
                try:
                    values[attribute] = int(raw)
                except ValueError as exc:
                    raise ValueError(f"{name} must be an integer, not {raw!r}") from exc
        return cls(**values)
