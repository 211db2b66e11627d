"""Generates :mod:`odradek.protocol.messages` from Kafka's JSON message specs.

Run ``python3 -m odradek.protocol.generator PATH/TO/kafka-spec``. The output is
committed; a test regenerates it into a temporary directory and checks that nothing
differs.
"""
