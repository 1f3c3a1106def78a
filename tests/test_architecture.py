"""The layout keeps its promises: dependencies point down, wings stay apart, rooms stay small.

Read from the source with ``ast`` (no import), so a violation fails here
before it can hide behind an import that happens to work. The floors, from
the ground up (``../shared/STYLE.md`` section 1):

0. ``_version``, ``exceptions``
1. ``_core``, ``space``
2. the wings ``mlp``, ``wrappers``, ``scikeras``, ``search``, ``datasets``, ``analysis``
   (never each other)
3. ``persistence``, ``tracking`` (MLflow: logs a search with its analysis and saved model)
4. ``cli``
5. the face ``__init__``, ``__main__`` and ``_flat_layout`` (0.2's module paths, for its pickles)
"""

import ast
import os
import re

import pytest

PACKAGE = "skkeras_search"
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), PACKAGE)
FLOORS = {"_version": 0, "exceptions": 0, "_core": 1, "space": 1, "mlp": 2, "wrappers": 2,
          "scikeras": 2, "search": 2, "datasets": 2, "analysis": 2, "persistence": 3,
          "tracking": 3, "cli": 4, "__init__": 5, "__main__": 5,
          "_flat_layout": 5}
WINGS = {"mlp", "wrappers", "scikeras", "search", "datasets", "analysis"}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LOC = 60
LONG_BY_DESIGN = set()  # names of functions allowed past MAX_FUNCTION_LOC, with the reason


def _modules():
    found = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, os.path.dirname(ROOT))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path):
    """(imported module, line, inside a function?) for each import of our package."""
    with open(path) as fh:
        tree = ast.parse(fh.read())
    out = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module.split(".")[0] == PACKAGE:
                    for alias in child.names:
                        sub = f"{child.module}.{alias.name}"
                        out.append((sub if sub in MODULES else child.module, child.lineno, inner))
            elif isinstance(child, ast.ImportFrom) and child.level:
                out.append(("<relative>", child.lineno, inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        out.append((alias.name, child.lineno, inner))
            visit(child, inner)

    visit(tree, False)
    return out


def _component(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


GRAPH = {m: sorted({i for i, _, _ in _imports(p)} - {m}) for m, p in MODULES.items()}


def test_every_module_is_placed_on_a_floor():
    assert sorted({_component(m) for m in MODULES} - set(FLOORS)) == []


def test_imports_are_absolute_and_at_module_top():
    late = [f"{m}:{line} imports {i}" for m, p in MODULES.items()
            for i, line, inner in _imports(p) if inner or i == "<relative>"]
    assert late == []


def test_no_import_runs_back_up_or_across_wings():
    bad = []
    for module, targets in GRAPH.items():
        here = _component(module)
        for target in targets:
            there = _component(target)
            if target == PACKAGE and FLOORS[here] < 5:
                bad.append(f"{module} imports the package face")
            elif here != there and FLOORS[there] > FLOORS[here]:
                bad.append(f"{module} (floor {FLOORS[here]}) imports {target} (floor {FLOORS[there]})")
            elif here != there and here in WINGS and there in WINGS:
                bad.append(f"wing {here} imports wing {there} ({module} -> {target})")
    assert bad == []


def test_the_import_graph_has_no_circle():
    state, circles = {}, []

    def walk(node, stack):
        state[node] = "open"
        for nxt in GRAPH.get(node, ()):
            if state.get(nxt) == "open":
                circles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, stack + [nxt])
        state[node] = "done"

    for module in GRAPH:
        if module not in state:
            walk(module, [module])
    assert circles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_under_500_lines(module):
    with open(MODULES[module]) as fh:
        assert sum(1 for _ in fh) < MAX_MODULE_LINES


def _code_lines(node, source_lines):
    """Lines of code of a function: not blank, not a comment, not its docstring."""
    doc = set()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        doc = set(range(body[0].lineno, body[0].end_lineno + 1))
    lines = range(node.lineno, node.end_lineno + 1)
    return sum(1 for n in lines if n not in doc and source_lines[n - 1].strip()
               and not source_lines[n - 1].strip().startswith("#"))


def test_functions_stay_under_60_lines_of_code():
    long = []
    for module, path in MODULES.items():
        with open(path) as fh:
            source = fh.read()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{module}.{node.name}"
                if name not in LONG_BY_DESIGN and _code_lines(node, lines) > MAX_FUNCTION_LOC:
                    long.append(f"{name}: {_code_lines(node, lines)} lines")
    assert long == []


def _sources(components):
    for module, path in MODULES.items():
        if _component(module) in components:
            with open(path) as fh:
                yield module, fh.read()


def test_errors_are_recognised_by_type_not_by_text_or_class_name():
    pattern = re.compile(r"__name__\s*(==|!=|in\b)|\.__class__\.__name__\s*(==|in)|"
                         r"str\((exc|err|error|e)\)\s*(==|\.startswith|\.endswith)|"
                         r"re\.\w+\([^)]*(str\(w\.message\)|\.message)")
    hits = [f"{m}: {line.strip()}" for m, src in _sources(FLOORS) for line in src.splitlines()
            if pattern.search(line) and "__main__" not in line]
    assert hits == []


def test_no_command_flag_in_library_messages():
    """Library wings answer in keyword arguments (``data=``); only ``cli/`` speaks in flags."""
    flag = re.compile(r"""["'][^"'\n]*(?<![\w-])--[a-z][a-z-]+[^"'\n]*["']""")
    hits = [f"{m}: {line.strip()}" for m, src in _sources(WINGS | {"_core", "exceptions"})
            for line in src.splitlines() if flag.search(line)]
    assert hits == []


def test_the_face_only_reexports():
    with open(MODULES[PACKAGE]) as fh:
        tree = ast.parse(fh.read())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == []
