"""Odradek: a Kafka-compatible broker cluster in pure Python."""

__version__ = "0.1.0"
