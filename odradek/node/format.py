"""Formatting log directories: what ``kafka-storage format`` does, as ``odradek format``.

A node refuses to start on directories that do not say which cluster and node they
belong to. Formatting writes that identity, ``meta.properties`` (version 1:
``cluster.id``, ``node.id``, a fresh ``directory.id``), into every log dir and into
the metadata log dir. A directory already formatted is an error unless the caller
says to leave formatted directories alone (``--ignore-formatted``), and a directory
formatted for another cluster or node is always an error.

Cluster ids are Kafka ``Uuid``s as text: 22 characters of URL-safe base64.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from odradek.node.config import BrokerConfig
from odradek.storage.checkpoints import topic_id_from_string, topic_id_to_string
from odradek.storage.meta_properties import (
    MetaProperties,
    new_directory_id,
    read_meta_properties,
    write_meta_properties,
)


class FormatError(Exception):
    """A directory that cannot be formatted as asked."""


def new_cluster_id() -> str:
    while True:
        candidate = uuid.uuid4()
        # Kafka reserves the all-zero id and ids whose text starts with a dash.
        text = topic_id_to_string(candidate)
        if candidate.int and not text.startswith("-"):
            return text


def check_cluster_id(cluster_id: str) -> str:
    try:
        topic_id_from_string(cluster_id)
    except ValueError:
        raise FormatError(f"cluster id {cluster_id!r} is not a 22-character base64 id") from None
    return cluster_id


def directories(config: BrokerConfig) -> list[Path]:
    dirs = [Path(d) for d in config.log_dirs]
    metadata_dir = Path(config.metadata_log_dir)
    if metadata_dir not in dirs:
        dirs.append(metadata_dir)
    return dirs


def formatted_cluster_id(config: BrokerConfig) -> str | None:
    """The cluster id the node's directories were formatted with, if any is."""
    for d in directories(config):
        meta = read_meta_properties(d)
        if meta is not None and meta.cluster_id:
            return meta.cluster_id
    return None


def format_directories(
    config: BrokerConfig, cluster_id: str, *, ignore_formatted: bool = False
) -> list[Path]:
    """Write ``meta.properties`` into every directory of the node; returns those written."""
    check_cluster_id(cluster_id)
    written = []
    for d in directories(config):
        meta = read_meta_properties(d)
        if meta is not None:
            if meta.cluster_id != cluster_id or meta.node_id != config.node_id:
                raise FormatError(
                    f"{d} is formatted for cluster {meta.cluster_id} and node {meta.node_id}, "
                    f"not cluster {cluster_id} and node {config.node_id}"
                )
            if not ignore_formatted:
                raise FormatError(f"{d} is already formatted (use --ignore-formatted)")
            continue
        d.mkdir(parents=True, exist_ok=True)
        write_meta_properties(
            d, MetaProperties(cluster_id, config.node_id, new_directory_id(), version=1)
        )
        written.append(d)
    return written
