"""One module per Kafka API. Importing this package registers every handler."""

from odradek.broker.handlers import api_versions, fetch, list_offsets, metadata, produce

__all__ = ["api_versions", "fetch", "list_offsets", "metadata", "produce"]
