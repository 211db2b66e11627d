"""The .properties reader, rule by rule, and against java.util.Properties itself."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from odradek.node.properties import PropertiesError, load_properties, parse_properties


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key=value", {"key": "value"}),
        ("key: value", {"key": "value"}),
        ("key value", {"key": "value"}),
        ("key\tvalue", {"key": "value"}),
        ("key \f = \t value", {"key": "value"}),
        ("   indented=yes", {"indented": "yes"}),
        ("key", {"key": ""}),
        ("key=", {"key": ""}),
        ("key = = value", {"key": "= value"}),
        ("key :: value", {"key": ": value"}),
        ("key=a=b:c", {"key": "a=b:c"}),
    ],
)
def test_separators(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text) == expected


def test_trailing_whitespace_of_a_value_is_kept() -> None:
    assert parse_properties("key=value  \t") == {"key": "value  \t"}


@pytest.mark.parametrize("marker", ["#", "!"])
def test_comment_lines(marker: str) -> None:
    text = f"{marker} a comment\n   {marker} indented comment\nkey=value {marker} not a comment"
    assert parse_properties(text) == {"key": f"value {marker} not a comment"}


def test_blank_lines_are_ignored() -> None:
    assert parse_properties("\n \t\f\n\na=1\n\n") == {"a": "1"}


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_line_terminators(newline: str) -> None:
    assert parse_properties(newline.join(["a=1", "b=2", "c=3"])) == {"a": "1", "b": "2", "c": "3"}


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_continuation_drops_the_break_and_the_next_indent(newline: str) -> None:
    text = f"list=a,\\{newline}     b,\\{newline}\tc{newline}next=1"
    assert parse_properties(text) == {"list": "a,b,c", "next": "1"}


def test_even_number_of_backslashes_does_not_continue() -> None:
    assert parse_properties("a=x\\\\\nb=y") == {"a": "x\\", "b": "y"}


def test_odd_number_of_backslashes_continues() -> None:
    assert parse_properties("a=x\\\\\\\n y") == {"a": "x\\y"}


def test_a_comment_is_never_continued() -> None:
    assert parse_properties("# comment \\\nkey=value") == {"key": "value"}


def test_a_continuation_line_may_start_with_a_comment_marker() -> None:
    assert parse_properties("key=a\\\n  #b") == {"key": "a#b"}


def test_an_empty_continuation_line_ends_the_logical_line() -> None:
    assert parse_properties("key=a\\\n\nother=b") == {"key": "a", "other": "b"}


def test_a_backslash_at_the_end_of_the_text_is_dropped() -> None:
    assert parse_properties("key=value\\") == {"key": "value"}


@pytest.mark.parametrize(
    ("escaped", "meaning"),
    [
        ("\\t", "\t"),
        ("\\n", "\n"),
        ("\\r", "\r"),
        ("\\f", "\f"),
        ("\\u0041", "A"),
        ("\\u00e9", "é"),
        ("\\:", ":"),
        ("\\=", "="),
        ("\\ ", " "),
        ("\\#", "#"),
        ("\\!", "!"),
        ("\\\\", "\\"),
        ("\\b", "b"),
        ("\\q", "q"),
    ],
)
def test_escapes_in_values(escaped: str, meaning: str) -> None:
    assert parse_properties(f"key=<{escaped}>") == {"key": f"<{meaning}>"}


def test_escaped_separators_belong_to_the_key() -> None:
    assert parse_properties("a\\=b=c") == {"a=b": "c"}
    assert parse_properties("a\\:b:c") == {"a:b": "c"}
    assert parse_properties("a\\ b c") == {"a b": "c"}


def test_leading_whitespace_of_a_value_can_be_escaped() -> None:
    assert parse_properties("key=\\  value") == {"key": "  value"}


@pytest.mark.parametrize("text", ["key=\\u12", "key=\\uzzzz", "key=\\u00G0"])
def test_malformed_unicode_escape_is_an_error(text: str) -> None:
    with pytest.raises(PropertiesError, match="Malformed"):
        parse_properties(text)


def test_the_last_of_duplicate_keys_wins() -> None:
    assert parse_properties("a=1\na=2") == {"a": "2"}


def test_files_are_read_as_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_bytes(b"log.dirs=/data/caf\xe9\nname=\\u20ac\n")
    assert load_properties(path) == {"log.dirs": "/data/café", "name": "€"}


def test_kafka_quickstart_style_file() -> None:
    text = """
############################# Server Basics #############################
# The role of this server.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093

listeners=PLAINTEXT://:9092,CONTROLLER://:9093
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,\\
    SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
log.dirs=/tmp/kraft-combined-logs
"""
    props = parse_properties(text)
    assert props["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
    )
    assert list(props) == [
        "process.roles",
        "node.id",
        "controller.quorum.bootstrap.servers",
        "listeners",
        "listener.security.protocol.map",
        "log.dirs",
    ]


# --- against java.util.Properties ------------------------------------------------

_JAVA_READER = """
import java.io.FileInputStream;
import java.util.Properties;
import java.util.TreeMap;

public class ReadProperties {
    static String hex(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(String.format("%04x", (int) c));
        return b.toString();
    }
    public static void main(String[] paths) throws Exception {
        for (String path : paths) {
            Properties props = new Properties();
            try (FileInputStream in = new FileInputStream(path)) {
                props.load(in);
                System.out.println("FILE");
                for (var e : new TreeMap<Object, Object>(props).entrySet())
                    System.out.println(hex((String) e.getKey()) + " " + hex((String) e.getValue()));
            } catch (IllegalArgumentException e) {
                System.out.println("FILE");
                System.out.println("ERROR");
            }
        }
    }
}
"""

_PIECES = ["a", "b", "=", ":", " ", "\t", "\f", "\\", "\n", "\r", "#", "!", "\\u0041", "x", "é"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 24)))


def _unhex(text: str) -> str:
    return "".join(chr(int(text[i : i + 4], 16)) for i in range(0, len(text), 4))


@pytest.mark.java
def test_agrees_with_java_util_properties(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("java not installed")
    rng = random.Random(20240607)
    texts = [_random_text(rng) for _ in range(400)]
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"{i}.properties"
        path.write_bytes(text.encode("latin-1"))
        paths.append(str(path))
    source = tmp_path / "ReadProperties.java"
    source.write_text(_JAVA_READER)
    output = subprocess.run(
        ["java", str(source), *paths], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    results = output.split("FILE\n")[1:]
    assert len(results) == len(texts)
    for text, java in zip(texts, results, strict=True):
        if java.strip() == "ERROR":
            with pytest.raises(PropertiesError):
                parse_properties(text)
            continue
        expected = dict(
            (_unhex(k), _unhex(v)) for k, v in (line.split(" ") for line in java.splitlines())
        )
        assert dict(sorted(parse_properties(text).items())) == expected, repr(text)
