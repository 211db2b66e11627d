"""The error table against Kafka's published one, and KafkaError's contract."""

from __future__ import annotations

import html
import re
import subprocess
from html.parser import HTMLParser

import pytest

from odradek.protocol.errors import ErrorCode, KafkaError, lookup
from tests.conftest import SPEC_ROOT
from tests.support.kafka_reference import java_command, kafka_unavailable

PROTOCOL_HTML = SPEC_ROOT / "docs" / "protocol.html"

# Comments in the response specs that use a name Kafka's Errors enum does not have.
# ConsumerGroupHeartbeatResponse's comment was written before the code was named
# INVALID_REGULAR_EXPRESSION (128).
SPEC_NAMES_NOT_IN_ERRORS = {"INVALID_SUBSCRIPTION_REGEX"}


class _TableRows(HTMLParser):
    """Collects the cells of every <tr> in the HTML it is fed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _doc_error_table() -> list[tuple[str, int, bool, str]] | None:
    """The rows of the "Error Codes" table in protocol.html, or None if not rendered.

    Kafka's source tree keeps the table as a server-side include of a file generated
    at release time; only a rendered copy of the page has the rows.
    """
    text = PROTOCOL_HTML.read_text(encoding="utf-8")
    start = text.index('id="protocol_error_codes"')
    section = text[start : text.index('id="protocol_api_keys"', start)]
    if "<table" not in section:
        return None
    return _table_rows(section)


def _table_rows(text: str) -> list[tuple[str, int, bool, str]]:
    """(name, code, retriable, description) of each row of Kafka's error table."""
    parser = _TableRows()
    parser.feed(text)
    rows = []
    for cells in parser.rows:
        if cells and cells[0] != "Error":
            name, code, retriable, description = cells
            rows.append((name, int(code), retriable == "True", html.unescape(description)))
    return rows


def _our_rows() -> list[tuple[str, int, bool, str]]:
    return [(c.name, int(c), c.retriable, c.message) for c in ErrorCode]


def test_doc_table_matches_exactly() -> None:
    rows = _doc_error_table()
    if rows is None:
        pytest.skip("protocol.html holds the include directive, not the rendered error table")
    assert _our_rows() == rows


@pytest.mark.java
def test_table_matches_the_reference_kafka_exactly() -> None:
    """Kafka renders the doc table with ``Errors.main``; the reference jars have it."""
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)
    rendered = subprocess.run(
        java_command("org.apache.kafka.common.protocol.Errors"),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert _our_rows() == _table_rows(rendered)


def test_codes_are_unique_and_run_from_minus_one_without_gaps() -> None:
    codes = [int(code) for code in ErrorCode]
    assert len(codes) == len(set(codes))
    assert sorted(codes) == list(range(-1, max(codes) + 1))
    assert max(codes) == 133


def test_every_error_named_in_a_response_spec_is_in_the_table() -> None:
    names = set()
    for path in (SPEC_ROOT / "clients").glob("*Response.json"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("// Licensed") or "WARRANTIES" in line or "LICENSE" in line:
                continue
            names.update(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", line))
    assert len(names) > 30
    missing = names - SPEC_NAMES_NOT_IN_ERRORS - set(ErrorCode.__members__)
    assert not missing


@pytest.mark.parametrize(
    ("code", "number", "retriable"),
    [
        (ErrorCode.UNKNOWN_SERVER_ERROR, -1, False),
        (ErrorCode.NONE, 0, False),
        (ErrorCode.OFFSET_OUT_OF_RANGE, 1, False),
        (ErrorCode.CORRUPT_MESSAGE, 2, True),
        (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 3, True),
        (ErrorCode.NOT_LEADER_OR_FOLLOWER, 6, True),
        (ErrorCode.REQUEST_TIMED_OUT, 7, True),
        (ErrorCode.MESSAGE_TOO_LARGE, 10, False),
        (ErrorCode.NOT_COORDINATOR, 16, True),
        (ErrorCode.NOT_ENOUGH_REPLICAS, 19, True),
        (ErrorCode.TOPIC_ALREADY_EXISTS, 36, False),
        (ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 45, False),
        (ErrorCode.KAFKA_STORAGE_ERROR, 56, True),
        (ErrorCode.FENCED_LEADER_EPOCH, 74, True),
        (ErrorCode.POSITION_OUT_OF_RANGE, 99, False),
        (ErrorCode.UNKNOWN_TOPIC_ID, 100, True),
        (ErrorCode.INVALID_REGULAR_EXPRESSION, 128, False),
        (ErrorCode.REBOOTSTRAP_REQUIRED, 129, False),
    ],
)
def test_spot_checks(code: ErrorCode, number: int, retriable: bool) -> None:
    assert code == number
    assert ErrorCode(number) is code
    assert code.retriable is retriable


def test_messages() -> None:
    assert ErrorCode.NONE.message == ""
    assert ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.message == (
        "This server does not host this topic-partition."
    )
    assert all(code.message for code in ErrorCode if code is not ErrorCode.NONE)


def test_lookup_of_wire_codes() -> None:
    assert lookup(3) is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert lookup(-1) is ErrorCode.UNKNOWN_SERVER_ERROR
    assert lookup(32767) is None


def test_kafka_error_carries_code_and_default_message() -> None:
    error = KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert error.code is ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert error.code == 6
    assert error.message == ErrorCode.NOT_LEADER_OR_FOLLOWER.message
    assert str(error).startswith("NOT_LEADER_OR_FOLLOWER (6): For requests")


def test_kafka_error_with_its_own_message() -> None:
    with pytest.raises(KafkaError) as caught:
        raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor: 4 larger")
    assert caught.value.code is ErrorCode.INVALID_REPLICATION_FACTOR
    assert caught.value.message == "Replication factor: 4 larger"


def test_kafka_error_refuses_none() -> None:
    with pytest.raises(ValueError, match="NONE"):
        KafkaError(ErrorCode.NONE)
