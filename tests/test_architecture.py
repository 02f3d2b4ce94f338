"""The shape of the code (docs/architecture.md): apps stacked in floors, each importing only
from lower floors; no import hidden inside a function to dodge a cycle; no module too long
to read in one sitting.

Imports are read from the source with `ast`, so an import that only runs on some path still
counts. Imports under `if TYPE_CHECKING:` are for annotations only and never run: they are
left out, and the tests below still see any cycle they would otherwise hide at runtime.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "twostep"
LONGEST_MODULE = 300

# Where each part of twostep stands. A part imports only from parts on a lower floor, or
# from itself. The top floor (None) is the glue that wires everything: settings, URLs, the
# admin site, WSGI/ASGI; nothing below it may import it.
FLOORS: dict[str, int | None] = {
    "text": 0,
    "backoff": 0,
    "postgresql": 0,
    "middleware": 0,
    "context_processors": 0,
    "environment": 0,
    "audit": 1,
    "mail": 1,
    "organizations": 1,
    "accounts": 2,
    "mfa": 3,
    "chat": 3,
    "recovery": 4,
    "login": 5,
    "support": 5,
    "settings": None,
    "product_settings": None,
    "urls": None,
    "admin": None,
    "apps": None,
    "wsgi": None,
    "asgi": None,
    "__init__": None,
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. twostep.login.flow
    target: str  # what it imports from twostep, e.g. twostep.mfa.session
    line: int
    in_function: bool

    @property
    def where(self) -> str:
        return f"{self.module}:{self.line}"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(package: str, node: ast.ImportFrom) -> list[str]:
    """What an `import`/`from ... import` statement names inside twostep."""
    if node.level:
        base = package.split(".")
        base = base[: len(base) - node.level + 1]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    return [f"{origin}.{alias.name}" for alias in node.names] + [origin]


def imports_of(module: str, path: Path) -> list[Import]:
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, in_function)
            return
        in_function = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # The module itself and each name from it: a name may be a submodule.
            targets = _resolve(package, node)
        for target in targets:
            if target == "twostep" or target.startswith("twostep."):
                found.append(Import(module, target, node.lineno, in_function))
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def known(target: str, names: set[str]) -> str | None:
    """The module an import target lands in (a `from m import name` names m.name)."""
    while target and target not in names:
        target = target.rpartition(".")[0]
    return target or None


def part(module: str) -> str:
    """twostep.mfa.session -> mfa; twostep.text -> text; twostep -> __init__."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


ALL = modules()
IMPORTS = [found for name, path in ALL.items() for found in imports_of(name, path)]


def test_every_part_of_twostep_has_a_floor():
    assert sorted({part(name) for name in ALL} - FLOORS.keys()) == []


def test_each_app_imports_only_from_lower_floors():
    wrong = []
    for found in IMPORTS:
        target = known(found.target, set(ALL))
        if target is None or target == "twostep" or part(target) == part(found.module):
            continue
        here, there = FLOORS[part(found.module)], FLOORS[part(target)]
        if here is not None and (there is None or there >= here):
            wrong.append(f"{found.where} imports {target}")
    assert sorted(set(wrong)) == []


def test_no_import_of_twostep_hides_inside_a_function():
    hidden = sorted({f"{f.where} imports {f.target}" for f in IMPORTS if f.in_function})
    assert hidden == []


def test_no_module_imports_itself_back_in_a_circle():
    names = set(ALL)
    graph: dict[str, set[str]] = {name: set() for name in names}
    for found in IMPORTS:
        target = known(found.target, names)
        if target and target != found.module and target != "twostep":
            graph[found.module].add(target)
    assert find_cycle(graph) is None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a path, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


@pytest.mark.parametrize("name", sorted(ALL))
def test_no_module_is_longer_than_300_lines(name):
    lines = len(ALL[name].read_text().splitlines())
    assert lines <= LONGEST_MODULE, f"{name} has {lines} lines"


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    # The checks above pass on an empty list: prove the finder can fail.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_inside_functions_and_type_checking_blocks_are_told_apart(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from twostep.text import one_line\n"
        "if TYPE_CHECKING:\n"
        "    from twostep.accounts.models import User\n"
        "def f():\n"
        "    from twostep.mfa import session\n"
        "    from .flow import done\n"
    )
    found = {(f.target, f.in_function) for f in imports_of("twostep.login.sample", source)}
    assert ("twostep.text.one_line", False) in found
    assert ("twostep.mfa.session", True) in found
    assert ("twostep.login.flow.done", True) in found
    assert not any("accounts" in target for target, _ in found)
