"""Reading what a page shows, as a person would see it."""

from __future__ import annotations

from html.parser import HTMLParser


class ShownAnswers(HTMLParser):
    """Collect what a page's form shows: text box values, ticked choices and text area contents."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "textarea":
            self._textarea, self._text = attributes["name"], []
        elif tag == "input" and (attributes.get("type") not in ("radio", "checkbox") or "checked" in attributes):
            self.values.setdefault(attributes.get("name", ""), []).append(attributes.get("value", ""))

    def handle_data(self, data) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag) -> None:
        if tag == "textarea" and self._textarea:
            self.values.setdefault(self._textarea, []).append("".join(self._text))
            self._textarea = None


def shown_answers(response) -> dict[str, list[str]]:
    """What the page's form shows for each field name."""
    parser = ShownAnswers()
    parser.feed(response.get_data(as_text=True))
    return parser.values
