"""Dependencies point one way: mail and articles take plain objects and import no capability that
uses them; appointments import nothing of the back office (type-checking-only imports aside)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "intake"
FORBIDDEN = {
    "mail": {"journey", "staff", "articles", "appointments"},
    "articles": {"journey", "staff", "mail", "appointments"},
    "appointments": {"staff", "mail"},
}


def runtime_imports(path: Path) -> set[str]:
    """The intake packages a module imports when it runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for guard in ast.walk(tree) if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
               for node in ast.walk(guard)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names if name.startswith("intake.") and name.count(".") >= 1}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_none_of_the_capabilities_that_use_it(package):
    for module in sorted((PACKAGE_ROOT / package).rglob("*.py")):
        assert runtime_imports(module) & FORBIDDEN[package] == set(), module
