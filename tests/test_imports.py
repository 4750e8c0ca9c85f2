"""The layering of certapp's packages (README, «How the code is laid out»), read from the source: every
import of every module, at the top and inside functions, as the abstract syntax tree has it.

A node is a package under certapp (its domain: models, services, reactions, jobs …) or a top-level
module; a feature's entry points (views, api, cli, forms, schemas: what only the app factory imports)
are a node of their own, «<package>:web», above every domain. certapp/__init__.py, the app factory
that imports every feature when it builds an app, is left out."""
import ast
import importlib
from collections import defaultdict
from pathlib import Path

from blinker import NamedSignal

from certapp.common import events

PACKAGE = Path(__file__).resolve().parent.parent / "certapp"
WEB = {"views", "api", "cli", "forms", "schemas"}
#: what common may import from certapp besides itself: the database handle and its unit of work
COMMON_MAY_IMPORT = {"certapp.db", "certapp.uow"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts}


def _resolve(name: str) -> str | None:
    """The certapp module an imported name lives in (`certapp.db.db` -> `certapp.db`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking(node) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports_of(module: str, path: Path) -> list[tuple]:
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found, block_start = [], {}
    for node in ast.walk(tree):  # where each run of imports in a row begins: one comment above serves the run
        for field in ("body", "orelse", "finalbody"):
            statements, start = getattr(node, field, None), None
            for statement in statements if isinstance(statements, list) else []:
                is_import = isinstance(statement, ast.Import | ast.ImportFrom)
                start = (start or statement.lineno) if is_import else None
                block_start[id(statement)] = start

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package[:len(package) - child.level + 1] + ([child.module] if child.module else []))
                names = [f"{base}.{alias.name}" for alias in child.names]
            else:
                walk(child, inner)
                continue
            first = block_start.get(id(child)) or child.lineno
            context = "\n".join(lines[max(first - 2, 0):child.end_lineno])
            targets = {_resolve(name) for name in names if name.startswith("certapp")} - {None}
            for target in targets or ([None] if in_function else []):  # None: a library, listed when in a function
                found.append((module, target, child.lineno, in_function, context))

    walk(tree, False)
    return found


def _imports():
    """(module, imported module, line, inside a function, its source with the line above its run) for every
    import of a certapp module, and every import of a library inside a function (imported module None);
    imports under `if TYPE_CHECKING:` name types only and are left out."""
    return [found for module, path in MODULES.items() for found in _imports_of(module, path)]


ALL_IMPORTS = _imports()
IMPORTS = [row for row in ALL_IMPORTS if row[1] is not None]


def _node(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None  # the app factory
    if len(parts) > 2 and parts[2] in WEB and parts[1] != "common":
        return f"{parts[1]}:web"
    return parts[1]


def _graph() -> dict[tuple[str, str], list[str]]:
    edges = defaultdict(list)
    for module, target, line, _inner, _context in IMPORTS:
        source, dest = _node(module), _node(target)
        if source and dest and source != dest:
            edges[source, dest].append(f"{module}:{line} -> {target}")
    return edges


def _cycles(edges) -> list[set[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    successors = defaultdict(set)
    for source, dest in edges:
        successors[source].add(dest)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in list(successors):
        if node not in index:
            visit(node)
    return found


def test_packages_import_one_another_without_a_cycle():
    edges = _graph()
    described = [sorted(component) for component in _cycles(edges)]
    detail = {edge: where for edge, where in edges.items()
              if any(edge[0] in c and edge[1] in c for c in described)}
    assert described == [], f"import cycles between packages: {described}\n{detail}"


def test_common_imports_no_feature():
    upward = [(module, line, target) for module, target, line, _inner, _context in IMPORTS
              if module.startswith("certapp.common") and not target.startswith("certapp.common")
              and target not in COMMON_MAY_IMPORT]
    assert upward == []


def test_no_domain_module_imports_a_features_pages():
    """Pages, API and commands are the top: only the app factory and other entry points import them."""
    wrong = [(module, line, target) for module, target, line, _inner, _context in IMPORTS
             if (_node(target) or "").endswith(":web") and _node(module) and not _node(module).endswith(":web")]
    assert wrong == []


def test_an_import_inside_a_function_says_why():
    """In a function, an import (of certapp or a library) carries a comment saying why: on its line, or on
    the line above the imports in a row it belongs to."""
    silent = [f"{module}:{line}" for module, _target, line, inner, context in ALL_IMPORTS
              if inner and "#" not in context]
    assert silent == []


# --- events -------------------------------------------------------------------------------------------

def _declared_by_name() -> dict[str, str]:
    return {signal.name: attribute for attribute, signal in vars(events).items() if isinstance(signal, NamedSignal)}


def _names(node) -> list:
    """The constant or names of an argument, both branches of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.Name):
        return [node.id]
    return []


def _announced() -> set[str]:
    """Events sent by name (`events.certificate_issued.send(...)`) and the "<document>.<status>" events
    of every transition(...) call: each status its transitions mapping can reach."""
    by_attribute = {attribute: name for name, attribute in _declared_by_name().items()}
    announced = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "send" and isinstance(func.value, ast.Attribute)
                    and isinstance(func.value.value, ast.Name) and func.value.value.id == "events"):
                announced.add(by_attribute[func.value.attr])
            if isinstance(func, ast.Name) and func.id == "transition" and len(node.args) >= 3:
                documents = [_names(k.value) for k in node.keywords if k.arg == "event"][0]
                mappings = _names(node.args[2])
                assert documents and len(documents) == len(mappings), f"{module}:{node.lineno}: name the event"
                owner = importlib.import_module(module)
                for document, mapping in zip(documents, mappings, strict=True):
                    statuses = set().union(*getattr(owner, mapping).values())
                    announced |= {f"{document}.{status}" for status in statuses}
    return announced


def test_every_event_with_a_reaction_is_announced(app):
    subscribed = {signal.name for signal in events.DECLARED.values() if signal.receivers}
    assert {"state.changed", "contract.active", "certificate.issued"} <= subscribed  # the reactions are connected
    assert subscribed - _announced() == set()


def test_every_declared_event_is_announced_somewhere():
    assert set(events.DECLARED) - _announced() == set()

