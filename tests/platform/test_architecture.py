"""The shape the code keeps, checked mechanically: dependencies point one way, no package cycle,
small modules, thin views, services free of Flask's request globals, no private library names."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "intake"
MODULES = sorted(PACKAGE_ROOT.rglob("*.py"))
PACKAGES = sorted(path.name for path in PACKAGE_ROOT.iterdir() if (path / "__init__.py").exists())
FORBIDDEN = {
    "mail": {"journey", "staff", "articles", "appointments"},
    "articles": {"journey", "staff", "mail", "appointments"},
    "appointments": {"staff", "mail"},
    "platform": {"journey", "staff", "articles", "appointments", "mail", "pages", "triage"},
    "clinic": {"journey", "staff", "articles", "appointments", "mail", "pages", "triage"},
    "triage": {"journey", "staff", "articles", "appointments", "mail", "pages", "platform"},
}
MAX_MODULE_LINES = 400
MAX_VIEW_LINES = 25
ROUTE_DECORATORS = re.compile(r"^(bp|app)\.(route|get|post)$")
REQUEST_GLOBALS = {"current_app", "request", "session", "g"}
# Underscored names of libraries we once reached into; the public API does the same job.
PRIVATE_LIBRARY_NAMES = re.compile(r"\.(_check_request_limit|_get_current_object|_value\(|_csrf_token)")


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


def package_of(path: Path) -> str | None:
    relative = path.relative_to(PACKAGE_ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_none_of_the_capabilities_that_use_it(package):
    for module in sorted((PACKAGE_ROOT / package).rglob("*.py")):
        assert runtime_imports(module) & FORBIDDEN[package] == set(), module


def test_no_two_packages_import_each_other_even_through_others():
    graph: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for module in MODULES:
        package = package_of(module)
        if package:
            graph[package] |= runtime_imports(module) - {package}
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        pytest.fail(f"packages import each other: {' -> '.join(cycle.args[1])}")


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE_ROOT)))
def test_no_module_is_over_400_lines(module):
    assert len(module.read_text().splitlines()) <= MAX_MODULE_LINES


def views(path: Path) -> list[ast.FunctionDef]:
    """The functions of a module that a blueprint routes to."""
    tree = ast.parse(path.read_text())
    return [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
        and any(ROUTE_DECORATORS.match(ast.unparse(getattr(decorator, "func", decorator))) for decorator in node.decorator_list)
    ]


ROUTE_MODULES = [module for module in MODULES if views(module)]


def test_the_route_modules_are_found():
    assert {package_of(module) for module in ROUTE_MODULES} >= {"journey", "staff", "articles", "pages"}


@pytest.mark.parametrize("module", ROUTE_MODULES, ids=lambda path: str(path.relative_to(PACKAGE_ROOT)))
def test_every_view_is_at_most_25_lines(module):
    long_views = {view.name: view.end_lineno - view.lineno + 1 for view in views(module)}
    assert {name: lines for name, lines in long_views.items() if lines > MAX_VIEW_LINES} == {}


SERVICE_MODULES = [module for module in MODULES if module.name == "services.py" or package_of(module) == "triage"]


@pytest.mark.parametrize("module", SERVICE_MODULES, ids=lambda path: str(path.relative_to(PACKAGE_ROOT)))
def test_services_take_plain_arguments_not_flask_request_globals(module):
    imported_from_flask = {
        alias.name for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "flask" for alias in node.names
    }
    assert imported_from_flask & REQUEST_GLOBALS == set()


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE_ROOT)))
def test_no_private_names_of_libraries_are_used(module):
    text = module.read_text()
    assert PRIVATE_LIBRARY_NAMES.findall(text) == []


def test_no_template_calls_a_private_field_method():
    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = [str(path) for path in templates.rglob("*.html") if re.search(r"\.\s*_[a-z]\w*\(", path.read_text())]
    assert offenders == []
