"""Record batches: the unit in which Kafka stores and moves records.

A RecordBatch (magic 2) is a 61-byte header followed by records, optionally
compressed as one block. The broker's hot path only ever looks at the header
(:mod:`.batch_header`); records are decoded where semantics need them.

Spec: ``docs/implementation.html`` (section "Record Batch") and
``docs/protocol.html`` ("Messages" / record batch grammar).
"""
