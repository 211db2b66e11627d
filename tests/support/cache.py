"""Where the test dependencies installed by tools/install-test-deps.sh live.

Everything downloaded or built for the tests (Apache Kafka's jars, the compiled Java
client, kafkajs, the Tansu binary) is kept under one cache directory outside the checkout,
`$ODRADEK_CACHE` or `~/.cache/odradek`, in subdirectories named after the content they
were made from, so that the shell scripts and this package agree on names without
sharing any state.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools"
INSTALL_HINT = "run tools/install-test-deps.sh"


def cache_root() -> Path:
    """The directory tools/install-test-deps.sh installs into."""
    configured = os.environ.get("ODRADEK_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "odradek"


def content_digest(*files: Path) -> str:
    """The first 16 hex digits of the SHA-256 of the files' bytes, concatenated.

    tools/clients/build.sh names its outputs with `cat FILES | sha256sum | cut -c1-16`.
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
