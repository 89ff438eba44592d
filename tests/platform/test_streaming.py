"""Large answers sent a piece at a time: JSON written as its parts are read is the same text as
json.dumps would give, and small pieces are gathered into chunks."""

from __future__ import annotations

import json

from intake.platform.streaming import buffered, json_chunks

RECORD = {
    "prepared_at": "2026-11-30T10:00:00+00:00",
    "requests": [
        {"request": {"reference": "ABCD2345", "first_name": "Zoë", "answers": {"pain": 4, "sides": ["left", "right"]}, "postcode": None},
         "appointments": [], "messages": [{"text": "Line one\nline \"two\"", "attempts": 1, "sent": True}], "notes": [{}]},
        {"request": {}, "appointments": [{"minutes": 45.5}], "messages": [], "notes": []},
    ],
}


def as_generators(value):
    """The same data with every list turned into a generator, as the exports hand it over."""
    if isinstance(value, dict):
        return {key: as_generators(item) for key, item in value.items()}
    if isinstance(value, list):
        return (as_generators(item) for item in value)
    return value


def test_json_written_in_pieces_from_generators_is_the_text_json_dumps_gives_for_lists():
    expected = json.dumps(RECORD, indent=2, ensure_ascii=False)
    assert "".join(json_chunks(RECORD)) == expected
    assert "".join(json_chunks(as_generators(RECORD))) == expected
    assert "".join(json_chunks([])) == "[]" and "".join(json_chunks({})) == "{}"


def test_each_item_is_read_only_when_it_is_written():
    read = []

    def rows():
        for number in range(3):
            read.append(number)
            yield {"row": number}

    pieces = json_chunks({"rows": rows()})
    written = ""
    while '"row": 0' not in written:
        written += next(pieces)
    assert read == [0]  # the first row is on its way before the second is read
    assert json.loads(written + "".join(pieces)) == {"rows": [{"row": 0}, {"row": 1}, {"row": 2}]}


def test_small_pieces_are_gathered_into_chunks_of_at_least_the_size_but_the_last():
    chunks = list(buffered((f"{number:03d}," for number in range(100)), size=50))
    assert "".join(chunks) == "".join(f"{number:03d}," for number in range(100))
    assert all(len(chunk) >= 50 for chunk in chunks[:-1]) and len(chunks) == 8
    assert list(buffered([])) == []
