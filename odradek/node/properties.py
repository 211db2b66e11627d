"""Java ``.properties`` files, read exactly as ``java.util.Properties.load`` reads them.

Kafka's ``server.properties`` is loaded by ``Utils.loadProps``, which hands the raw
bytes to ``Properties.load(InputStream)``: the file is ISO-8859-1, and anything
outside it is written as ``\\uXXXX``. The format, as the ``Properties.load`` javadoc
defines it:

* The text is split into *natural lines* at ``\\n``, ``\\r`` or ``\\r\\n``.
* A natural line that is empty or holds only whitespace (space, tab, form feed) is
  ignored, and so is a *comment line*: one whose first non-whitespace character is
  ``#`` or ``!`` (also right after a continuation that kept nothing). A comment ends
  with its natural line, even if that ends in a backslash.
* A natural line ending in an odd number of backslashes continues on the next one:
  the backslash and the line break are dropped, and so is the whitespace that starts
  the next line. The joined result is one *logical line*.
* On a logical line, leading whitespace is skipped; the key runs up to the first
  unescaped ``=``, ``:`` or whitespace. Whitespace after the key is skipped, then at
  most one ``=`` or ``:``, then whitespace again; the rest of the line, trailing
  whitespace included, is the value. ``key value``, ``key=value`` and
  ``key : value`` all mean the same.
* In keys and values, ``\\t``, ``\\n``, ``\\r``, ``\\f`` and ``\\uXXXX`` are escapes; a
  backslash before any other character stands for that character (``\\:``, ``\\=``,
  ``\\ ``, ``\\#``, ``\\\\``), so ``\\b`` is just ``b``. A malformed ``\\u`` escape is
  an error.
* A later line with the same key replaces the earlier one.
"""

from __future__ import annotations

from pathlib import Path

_WHITESPACE = " \t\f"
_LINE_BREAKS = "\r\n"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


class PropertiesError(ValueError):
    """Text that ``java.util.Properties.load`` would reject (a malformed ``\\u`` escape)."""


def load_properties(path: str | Path) -> dict[str, str]:
    """Read a ``.properties`` file as Kafka does: bytes decoded as ISO-8859-1."""
    return parse_properties(Path(path).read_bytes().decode("latin-1"))


def parse_properties(text: str) -> dict[str, str]:
    """Parse the text of a ``.properties`` file into an ordered key -> value dict."""
    properties: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split_key_value(line)
        properties[_unescape(key)] = _unescape(value)
    return properties


def _logical_lines(text: str) -> list[str]:
    """Split the text into logical lines, as ``Properties.load``'s line reader does.

    Escapes stay in place (whether a line ends in a backslash is decided by counting
    them), so keys and values are unescaped only after they have been split. A line
    starts afresh wherever nothing has been kept yet, so even after a continuation a
    comment marker there starts a comment.
    """
    lines: list[str] = []
    line: list[str] = []
    skipping_whitespace = True
    after_continuation = False  # a line break here ends the line instead of being skipped
    backslash = False  # the last character kept is an unescaped backslash
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        pos += 1
        if skipping_whitespace:
            if char in _WHITESPACE or (char in _LINE_BREAKS and not after_continuation):
                continue
            skipping_whitespace = after_continuation = False
        if not line and char in "#!":
            while pos < end and text[pos] not in _LINE_BREAKS:
                pos += 1
            skipping_whitespace = True
            continue
        if char not in _LINE_BREAKS:
            line.append(char)
            backslash = char == "\\" and not backslash
            continue
        if not line:
            skipping_whitespace = True
            continue
        if pos == end:
            # The last line break of the text: a backslash before it joins nothing, and
            # the line is kept even if that leaves it empty.
            lines.append("".join(line[:-1] if backslash else line))
            return lines
        if backslash:
            line.pop()
            backslash = False
            skipping_whitespace = after_continuation = True
            if char == "\r" and text[pos] == "\n":
                pos += 1
        else:
            lines.append("".join(line))
            line = []
            skipping_whitespace = True
    if line:
        lines.append("".join(line[:-1] if backslash else line))
    return lines


def _split_key_value(line: str) -> tuple[str, str]:
    """Split a logical line (no leading whitespace, escapes intact) into key and value."""
    key_end = len(line)
    value_start = len(line)
    has_separator = False
    escaped = False
    for i, char in enumerate(line):
        if not escaped and char in "=:":
            key_end, value_start, has_separator = i, i + 1, True
            break
        if not escaped and char in _WHITESPACE:
            key_end, value_start = i, i + 1
            break
        escaped = char == "\\" and not escaped
    while value_start < len(line):
        char = line[value_start]
        if char not in _WHITESPACE:
            if has_separator or char not in "=:":
                break
            has_separator = True
        value_start += 1
    return line[:key_end], line[value_start:]


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out: list[str] = []
    pos = 0
    end = len(raw)
    while pos < end:
        char = raw[pos]
        pos += 1
        if char != "\\":
            out.append(char)
            continue
        if pos == end:
            # Only reachable for a key ending in a lone backslash, which Java drops too.
            break
        char = raw[pos]
        pos += 1
        if char == "u":
            digits = raw[pos : pos + 4]
            if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise PropertiesError(f"Malformed \\uxxxx encoding in {raw!r}")
            out.append(chr(int(digits, 16)))
            pos += 4
        else:
            out.append(_ESCAPES.get(char, char))
    return "".join(out)
