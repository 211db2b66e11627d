"""Coordinators: the state machines behind consumer groups and (later) transactions.

A coordinator owns the groups or transactional ids that hash to one partition of an
internal topic (``__consumer_offsets`` for groups). It is a pure state machine in
the style of Kafka's ``CoordinatorShard``: a command takes a request and the time and
returns the records to append to its partition and the responses to send once they
are committed; replaying records is the only way durable state changes, and loading
a partition is replaying it from the start.

Nothing here does I/O, reads a clock or draws random numbers: the broker's driver
owns the partition log, the timers and the sockets.

* :mod:`odradek.coordinator.group` -- the group coordinator (classic groups, offsets).
"""
