"""librdkafka settings that every client of the benchmark shares, whatever it does.

Brokers close idle connections (Tansu after a few seconds) and librdkafka reports each
close at its `info` level; the benchmark reports failures through the exceptions and
delivery reports it gets, so only warnings and errors reach the console.
"""

from __future__ import annotations

from typing import Any

#: syslog levels, as librdkafka's `log_level` takes them: 4 is warning.
WARNING = 4


def common_settings(bootstrap: str) -> dict[str, Any]:
    """The configuration every producer, consumer and admin client starts from."""
    return {"bootstrap.servers": bootstrap, "log_level": WARNING}
