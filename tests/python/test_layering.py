"""The package's layering, read from its source: pure modules import no chain code, no import cycles, short files.

A module is a chain module when a part of its dotted name is `chain` (`index_vault.chain.*`,
`index_vault.keeper.chain.*`, `index_vault.replay.chain`...); every other module is pure. A module over
500 lines, or a function over 80, says why in a paragraph of its docstring starting "Length:".
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "index_vault"
# eth_abi is allowed: it only encodes (`keeper.routes`).
CHAIN_LIBRARIES = ("ape", "ape_foundry", "ape_vyper", "web3", "silverback", "boa", "eth_account")
MAX_LINES = 500
MAX_FUNCTION_LINES = 80


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_chain(module: str) -> bool:
    return "chain" in module.split(".")


PURE = sorted(m for m in MODULES if not _is_chain(m))


def _imports(module: str) -> set[str]:
    """Every module `module` imports, at any depth of its code (inside functions and TYPE_CHECKING too)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


def _package_edges(module: str) -> set[str]:
    """The package modules `module` depends on (an import of `a.b.c` also runs `a` and `a.b`)."""
    edges = set()
    for name in _imports(module):
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in MODULES and prefix != module:
                edges.add(prefix)
    return edges


def test_layering__package__has_pure_and_chain_modules():
    assert "index_vault.keeper.planner" in PURE
    assert "index_vault.keeper.chain" not in PURE
    assert len(PURE) >= 20


@pytest.mark.parametrize("module", PURE)
def test_layering__pure_module__imports_no_chain_code(module):
    bad = sorted(
        name
        for name in _package_edges(module) | _imports(module)
        if name.split(".")[0] in CHAIN_LIBRARIES or (name.startswith("index_vault") and _is_chain(name))
    )
    assert bad == [], f"{module} imports chain code: {bad}"


def test_layering__pure_modules__import_with_chain_libraries_blocked():
    code = (
        "import sys, importlib\n"
        f"for name in {CHAIN_LIBRARIES!r}:\n"
        "    sys.modules[name] = None  # any import of it raises ImportError\n"
        f"for module in {PURE!r}:\n"
        "    importlib.import_module(module)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('index_vault') and 'chain' in m.split('.'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_layering__package__has_no_import_cycles():
    graph = {m: _package_edges(m) for m in MODULES}
    done: set[str] = set()
    stack: list[str] = []

    def visit(module: str) -> None:
        if module in stack:
            cycle = [*stack[stack.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        stack.append(module)
        for dep in sorted(graph[module]):
            visit(dep)
        stack.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layering__module__is_short_or_says_why(module):
    path = MODULES[module]
    lines = len(path.read_text().splitlines())
    if lines <= MAX_LINES:
        return
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "Length:" in docstring, f"{module} has {lines} lines and its docstring has no 'Length:' saying why"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layering__functions__are_short_or_say_why(module):
    tree = ast.parse(MODULES[module].read_text())
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and "Length:" not in (ast.get_docstring(node) or "")
    ]
    assert long == [], f"{module}: long functions whose docstrings have no 'Length:' saying why: {long}"
