"""Radio and checkbox options rendered in Python rather than by a Jinja loop.

The markup of a field's options never changes between requests, only which are ticked, so it
is built once, escaped, and reused. Doing it in a macro loop cost a question page about 0.17 ms
of its 2.3 ms (benchmarks/README.md).
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

Option = tuple[str, str]


@lru_cache(maxsize=512)
def _option_markup(field_id: str, name: str, input_type: str, options: tuple[Option, ...]) -> tuple[tuple[str, str, str], ...]:
    """Each option's value and its markup before and after the place `checked` goes."""
    parts = []
    for number, (value, label) in enumerate(options, start=1):
        input_id = escape(field_id if number == 1 else f"{field_id}-{number}")
        before = (
            f'<div class="choices__item">\n<input class="choices__input" id="{input_id}" name="{escape(name)}"'
            f' type="{escape(input_type)}" value="{escape(value)}"'
        )
        after = f'>\n<label class="choices__label" for="{input_id}">{escape(label)}</label>\n</div>'
        parts.append((value, before, after))
    return tuple(parts)


def choice_items(field, input_type: str) -> Markup:
    """The options of a radio or checkbox field, with the patient's answers ticked."""
    selected = field.data if input_type == "checkbox" else [field.data]
    options = tuple((choice.value, str(choice.label)) for choice in field.choices)
    return Markup("\n".join(
        before + (" checked" if selected and value in selected else "") + after
        for value, before, after in _option_markup(field.id, field.name, input_type, options)
    ))
