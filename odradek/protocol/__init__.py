"""The Kafka wire protocol, without I/O.

Everything Odradek says to a client or to another node goes through this package:
size-prefixed frames, request and response headers, the request and response
messages of every API at every version (generated from Kafka's JSON message specs
into :mod:`odradek.protocol.messages`), record batches with their CRC32C and
compression (:mod:`odradek.protocol.records`), and the table of error codes.

Nothing here touches a socket, a file or the clock: functions take bytes and return
values, or take values and return buffers. Malformed input raises
:class:`odradek.protocol.primitives.DecodeError` and nothing else; any other
exception escaping a decoder is a bug.

Spec: ``shared/kafka-spec/clients/*.json`` and ``docs/protocol.html``.
"""
