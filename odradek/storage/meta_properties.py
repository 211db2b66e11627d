"""``meta.properties``: the identity card of a log directory.

Written once by formatting (``kafka-storage.sh format``, ``odradek format``) and checked at
every start, so that a broker never mixes log dirs of another cluster, another node, or
the same directory mounted twice. Kafka's ``MetaProperties`` (KRaft: version 1)::

    #
    #<date>
    cluster.id=<22-character base64 id>
    directory.id=<22-character base64 id>
    node.id=1
    version=1

The file is a Java properties file; Kafka writes it with ``Properties.store`` (a comment
line and a date line first), atomically and fsync'd. Version 0 files (from ZooKeeper-mode
brokers) name the node ``broker.id``; they are read, not written.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from pathlib import Path

from odradek.storage.checkpoints import topic_id_from_string, topic_id_to_string
from odradek.storage.log_files import write_atomically

META_PROPERTIES = "meta.properties"


class MetaPropertiesError(Exception):
    """A ``meta.properties`` that is missing a field, malformed, or of another cluster."""


@dataclass(frozen=True)
class MetaProperties:
    cluster_id: str | None
    node_id: int | None
    directory_id: uuid.UUID | None = None
    version: int = 1

    def to_properties(self) -> dict[str, str]:
        props = {"version": str(self.version)}
        if self.cluster_id is not None:
            props["cluster.id"] = self.cluster_id
        if self.node_id is not None:
            props["broker.id" if self.version == 0 else "node.id"] = str(self.node_id)
        if self.directory_id is not None:
            props["directory.id"] = topic_id_to_string(self.directory_id)
        return props


def parse_properties(text: str) -> dict[str, str]:
    """The ``key=value`` (or ``key: value``) lines of a Java properties file."""
    props: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut < 0:
            props[line] = ""
        else:
            props[line[:cut].strip()] = line[cut + 1 :].strip()
    return props


def read_meta_properties(log_dir: Path) -> MetaProperties | None:
    """The directory's ``meta.properties``, or None if it has none (unformatted)."""
    try:
        text = (log_dir / META_PROPERTIES).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    props = parse_properties(text)
    try:
        version = int(props.get("version", "0"))
        if version not in (0, 1):
            raise MetaPropertiesError(f"unknown meta.properties version {version} in {log_dir}")
        node_key = "broker.id" if version == 0 else "node.id"
        if version == 1 and node_key not in props:
            raise MetaPropertiesError(f"meta.properties in {log_dir} has no node.id")
        node_id = int(props[node_key]) if node_key in props else None
        directory_id = (
            topic_id_from_string(props["directory.id"]) if "directory.id" in props else None
        )
    except ValueError as exc:
        raise MetaPropertiesError(f"malformed meta.properties in {log_dir}: {exc}") from None
    return MetaProperties(props.get("cluster.id"), node_id, directory_id, version)


def write_meta_properties(log_dir: Path, meta: MetaProperties) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    lines = ["#", f"#{now}"]
    lines += [f"{key}={value}" for key, value in sorted(meta.to_properties().items())]
    write_atomically(log_dir / META_PROPERTIES, ("\n".join(lines) + "\n").encode("utf-8"))


def new_directory_id() -> uuid.UUID:
    """A random directory id, avoiding the ids Kafka reserves (the first 100 values)."""
    while True:
        candidate = uuid.uuid4()
        if candidate.int >= 100:
            return candidate
