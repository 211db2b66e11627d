"""Command line: ``python3 -m odradek.protocol.generator SPEC_DIR [--out DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from odradek.protocol.generator.write import write_all

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "messages"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec_dir", type=Path, help="the kafka-spec directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where messages/ goes")
    args = parser.parse_args()
    written = write_all(args.spec_dir, args.out)
    print(f"wrote {len(written)} files under {args.out}")


if __name__ == "__main__":
    main()
