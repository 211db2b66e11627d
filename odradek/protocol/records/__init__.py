"""Record batches: the unit in which Kafka stores and moves records.

A RecordBatch (magic 2) is a 61-byte header followed by records, optionally
compressed as one block. The broker's hot path only ever looks at the header;
records are decoded where semantics need them. The modules, from the wire up:

* :mod:`.batch_header` -- the fixed header, read without touching records;
* :mod:`.crc` -- CRC-32C of batches, CRC-32 of old messages;
* :mod:`.compression` -- gzip, snappy, lz4 and zstd, with bounded decompression;
* :mod:`.validate` -- checking a Produce request's batch and assigning its offsets
  (the hot path);
* :mod:`.record` -- one record and its headers;
* :mod:`.batch` -- whole batches, decoded and encoded;
* :mod:`.control` -- control batches: transaction markers and KRaft control records;
* :mod:`.legacy` -- the message sets of magic 0 and 1 that preceded record batches.

Spec: ``docs/implementation.html`` (sections "Record Batch", "Record", "Control
Batches", "Old Message Format") and ``docs/protocol.html`` ("Messages" / record
batch grammar).
"""
