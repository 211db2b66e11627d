"""The ``odradek`` command: ``format``, ``start`` and ``apis``.

``odradek format --config FILE [--cluster-id ID]`` prepares the log directories, as
``kafka-storage format -c FILE -t ID`` does (a new cluster id when none is given).
``odradek start [--config FILE] [--override KEY=VALUE ...]`` runs a node; with no
configuration at all it runs the embedded default, a single combined node that
formats its directories on first start. ``odradek apis`` lists the Kafka APIs and
versions the protocol codec reads and writes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from odradek.node.config import ConfigError, load_broker_config
from odradek.node.format import FormatError, format_directories, new_cluster_id


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--override takes KEY=VALUE, not {pair!r}", key or pair)
        result[key.strip()] = value
    return result


def _format(args: argparse.Namespace) -> int:
    config = load_broker_config(args.config, _overrides(args.override))
    cluster_id = args.cluster_id or new_cluster_id()
    written = format_directories(config, cluster_id, ignore_formatted=args.ignore_formatted)
    for d in written:
        print(f"Formatted {d} with cluster id {cluster_id} and node id {config.node_id}")
    if not written:
        print("All of the log directories are already formatted.")
    return 0


def _start(args: argparse.Namespace) -> int:
    from odradek.node.server import start

    config = load_broker_config(args.config, _overrides(args.override))
    return start(config, embedded=args.config is None)


def _apis(args: argparse.Namespace) -> int:
    from odradek.protocol.messages.clients import APIS

    for key, api in sorted(APIS.items()):
        flexible = f"flexible from v{api.flexible_from}" if api.flexible_from is not None else ""
        print(f"{key:>3}  {api.name:<36} v{api.lowest}-v{api.highest}  {flexible}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="odradek", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    fmt = sub.add_parser("format", help="prepare the log directories of a node")
    fmt.add_argument("--config", "-c", required=True, help="server.properties of the node")
    fmt.add_argument("--cluster-id", "-t", help="the cluster id (a new one if not given)")
    fmt.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    fmt.add_argument("--ignore-formatted", "-g", action="store_true")
    fmt.set_defaults(run=_format)

    start = sub.add_parser("start", help="run a node (the embedded default without --config)")
    start.add_argument("--config", "-c", help="server.properties of the node")
    start.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    start.set_defaults(run=_start)

    apis = sub.add_parser("apis", help="list the Kafka APIs the protocol codec speaks")
    apis.set_defaults(run=_apis)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stdout,
    )
    try:
        code: int = args.run(args)
    except ConfigError as e:
        print(f"odradek: configuration error: {e}", file=sys.stderr)
        return 2
    except FormatError as e:
        print(f"odradek: {e}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
