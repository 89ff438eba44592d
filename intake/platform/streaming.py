"""Sending a large answer a piece at a time: JSON written as its parts are read, and small pieces
gathered into chunks worth a write to the socket.

An export of any size then holds about one piece of it in memory, and its first bytes leave
before the last rows are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

CHUNK_CHARACTERS = 64 * 1024


def json_chunks(value: Any, indent: int = 2, level: int = 0) -> Iterator[str]:
    """`value` as JSON text in pieces, the same text as `json.dumps(value, indent=indent,
    ensure_ascii=False)`; any list in it may instead be an iterator (a generator reading rows),
    which is read only as its items are written."""
    if isinstance(value, Mapping):
        entries = ((json.dumps(str(key), ensure_ascii=False) + ": ", item) for key, item in value.items())
        yield from _container("{", "}", entries, indent, level)
    elif isinstance(value, (list, tuple, Iterator)):
        yield from _container("[", "]", (("", item) for item in value), indent, level)
    else:
        yield json.dumps(value, ensure_ascii=False)


def _container(opening: str, closing: str, entries: Iterable[tuple[str, Any]], indent: int, level: int) -> Iterator[str]:
    """An object's or array's entries, one per line, indented as json.dumps indents them."""
    inside = "\n" + " " * (indent * (level + 1))
    empty = True
    for prefix, item in entries:
        yield (opening if empty else ",") + inside + prefix
        empty = False
        yield from json_chunks(item, indent, level + 1)
    yield opening + closing if empty else "\n" + " " * (indent * level) + closing


def buffered(pieces: Iterable[str], size: int = CHUNK_CHARACTERS) -> Iterator[str]:
    """The pieces joined into chunks of at least `size` characters (the last may be shorter): one
    write to the client per chunk rather than one per row or template fragment."""
    gathered: list[str] = []
    length = 0
    for piece in pieces:
        gathered.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(gathered)
            gathered, length = [], 0
    if gathered:
        yield "".join(gathered)
