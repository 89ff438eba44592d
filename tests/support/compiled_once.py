"""Code compiled once per run instead of once per test app: templates and URL builders.

Every test builds its own app, and each app would compile every template it renders and a Python
function for each of its ~70 URL rules (twice: with and without query arguments): most of the time
it takes to build an app and serve its first pages. What a page renders and what URL is built are
exactly what they would be without these caches.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from jinja2 import BytecodeCache
from werkzeug.routing.rules import Rule


class TemplateBytecode(BytecodeCache):
    """Compiled templates kept in memory for the whole run (Jinja's public cache interface).

    Jinja checks each entry against its template's source, so a changed template is compiled afresh.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_compile_builder = Rule._compile_builder
_url_builders: dict[tuple, Callable] = {}


def _builder_key(rule: Rule, append_unknown: bool) -> tuple | None:
    """What a rule's compiled builder depends on: its text, its parts and its defaults' names (the
    rule itself is an argument of the builder when it runs). None when a default is folded into the
    URL, a constant from the rule's converter: such rules are compiled every time."""
    defaults = rule.defaults or {}
    if any(is_dynamic and data in defaults for is_dynamic, data in rule._trace):
        return None
    return rule.rule, tuple(rule._trace), tuple(defaults), append_unknown


def _shared_compile_builder(rule: Rule, append_unknown: bool = True) -> Callable:
    """Werkzeug's Rule._compile_builder, reusing the builder compiled for an identical rule."""
    key = _builder_key(rule, append_unknown)
    if key is None:
        return _compile_builder(rule, append_unknown)
    if key not in _url_builders:
        _url_builders[key] = _compile_builder(rule, append_unknown)
    return _url_builders[key]


def share_compiled_code() -> None:
    """Give every app's Jinja environments (and the page caches' overlays of them, which copy the
    setting when the app is built) one bytecode cache, and every URL rule the builders already compiled."""
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": TemplateBytecode()}
    Rule._compile_builder = _shared_compile_builder
