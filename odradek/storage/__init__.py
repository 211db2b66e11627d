"""The storage engine: one log per partition replica, in Apache Kafka's on-disk format.

The broker keeps client data, its internal topics and follower copies here; the
controller keeps the metadata log. Files are byte-compatible with Kafka's
(``docs/implementation.html``, "Log"; ``docs/design.html``, "Persistence", "Log
Compaction"), so Kafka's own tools read them. The package is synchronous, file-based code:
time comes in through an injected clock, and the caller (a trio task per partition, or a
test) owns each :class:`~odradek.storage.log.Log`; only compaction hands work to a thread.

From the bottom up:

* :mod:`.config` -- :class:`LogConfig`, the topic-level settings, with Kafka's names and
  defaults;
* :mod:`.log_files` -- file names and atomic replacement; :mod:`.checkpoints` and
  :mod:`.meta_properties` -- Kafka's small text files;
* :mod:`.file_records` -- a ``.log`` file of record batches; :mod:`.mmap_index`,
  :mod:`.offset_index`, :mod:`.time_index`, :mod:`.txn_index` -- the three indexes;
  :mod:`.segment` and :mod:`.segments` -- a segment and the ordered set of them;
* :mod:`.producer_state` with :mod:`.producer_snapshot` and :mod:`.control_batch` --
  idempotence and transactions; :mod:`.leader_epochs` -- the leader epoch cache;
* :mod:`.log` -- a partition's log; :mod:`.recovery` -- opening one; :mod:`.retention` and
  :mod:`.cleaner` -- deletion and compaction, with :mod:`.cleaner_thread` -- compaction
  in a worker thread beside the log's owner; :mod:`.log_manager` -- a node's log dirs;
* :mod:`.errors` -- the Kafka error codes storage failures answer with.
"""

from __future__ import annotations

from odradek.storage.checkpoints import TopicPartition
from odradek.storage.config import LogConfig
from odradek.storage.file_records import FileRegion
from odradek.storage.log import AppendInfo, FetchDataInfo, FetchIsolation, Log
from odradek.storage.log_manager import LogManager
from odradek.storage.producer_state import AppendOrigin

__all__ = [
    "AppendInfo",
    "AppendOrigin",
    "FetchDataInfo",
    "FetchIsolation",
    "FileRegion",
    "Log",
    "LogConfig",
    "LogManager",
    "TopicPartition",
]
