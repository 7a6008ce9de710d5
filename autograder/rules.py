"""The rule of quizzes 3-6, read from a submission's source: which functions reach `mmembed`'s helpers.

Students write load_images, embed_images, embed_text and search_top1 with PIL, torch and transformers; of
`mmembed` they may use only `load_clip`, which main() calls for the model. `functions_using_helpers` names the
graded functions (and main) that call, or reach by name, any other `mmembed` function, however they spell it:

    import mmembed as m; m.embed_images(...)              from mmembed.embedding import embed_images as e
    importlib.import_module("mmembed.cache")              __import__("mmembed")
    getattr(mmembed, "embed_" + "images")                 sys.modules["mmembed"].embed_images
    E = mmembed.embed_images  (at the top, used inside)   a helper of the student's own that does any of these

A function counts when its own body does, or when it uses, by name, a top-level function, class or variable of
the file that counts (so main() counts when the embed_images it calls does). Code that runs at import (outside
any function) and calls a helper counts as `IMPORT`: every step runs after it.

The reading is static and conservative: a module object that may be mmembed (any dynamic import, anything taken
out of sys.modules) is taken to be mmembed, and getattr on it with a name that is not a constant reaches a helper.
What the source hides (exec of a built string) is left to the guard in the child (inside/guard.py), which sees
the calls as they happen. Torch-free on purpose: the grader reads every submission before it runs any.
"""

import ast
import importlib.util
from functools import cache
from pathlib import Path

ALLOWED = frozenset({"load_clip"})  # the one function main() may take from mmembed: the model
GRADED = ("load_images", "embed_images", "embed_text", "search_top1", "main")
IMPORT = "<import>"  # module-level code: runs when the file is imported, before every step
# Attributes of a module that are plain data, never a function.
DATA_DUNDERS = frozenset({"__file__", "__name__", "__doc__", "__path__", "__package__", "__all__", "__version__"})
IMPORTERS = frozenset({"import_module", "__import__", "reload", "module_from_spec", "spec_from_file_location"})

# What an expression may be, as far as the rule cares. A module is ("module", dotted name or None if unknown).
SYS, SYS_MODULES, IMPORTLIB, BUILTINS = "sys", "sys.modules", "importlib", "builtins"
IMPORTER, GETATTR, VARS, HELPER = "importer", "getattr", "vars", "helper"
UNKNOWN_MODULE = ("module", None)
BUILTIN_NAMES = {"getattr": GETATTR, "vars": VARS, "__import__": IMPORTER, "__builtins__": BUILTINS}
PASS_THROUGH = frozenset({"list", "tuple", "dict", "set", "iter", "next", "sorted", "reversed", "enumerate", "zip"})


@cache
def _package_dir() -> Path | None:
    """mmembed's folder, found without importing it."""
    spec = importlib.util.find_spec("mmembed")
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def _module_file(dotted: str) -> Path | None:
    root = _package_dir()
    if root is None or not (dotted == "mmembed" or dotted.startswith("mmembed.")):
        return None
    folder = root.joinpath(*dotted.split(".")[1:])
    for file in (folder / "__init__.py", folder.with_suffix(".py")):
        if file.is_file():
            return file
    return None


@cache
def _data_names(dotted: str) -> frozenset[str]:
    """Names the module binds at its top level only by plain assignment (constants, tables): not functions."""
    file = _module_file(dotted)
    if file is None:
        return frozenset()
    assigned, other = set(), set()
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assigned |= {name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            other |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return frozenset(assigned - other)


def _is_mmembed(name) -> bool:
    return isinstance(name, str) and (name == "mmembed" or name.startswith("mmembed."))


def _attribute(kind, attr: str) -> set:
    """What `<kind>.attr` is; HELPER when it reaches a function of mmembed other than load_clip."""
    if isinstance(kind, tuple):  # a module that may be mmembed
        dotted = kind[1]
        if attr in ALLOWED or attr in DATA_DUNDERS:
            return set()
        if dotted is None:
            return {HELPER}
        if _module_file(f"{dotted}.{attr}") is not None:
            return {("module", f"{dotted}.{attr}")}
        return set() if attr in _data_names(dotted) else {HELPER}
    if kind == SYS:
        return {SYS_MODULES} if attr == "modules" else set()
    if kind == SYS_MODULES:
        return {SYS_MODULES}  # .get, .values, .items, ...: called, they give modules
    if kind == IMPORTLIB:
        return {IMPORTER} if attr in IMPORTERS else {IMPORTLIB}  # importlib.util.module_from_spec ...
    if kind == BUILTINS:
        return {BUILTIN_NAMES[attr]} if attr in BUILTIN_NAMES else set()
    if kind == HELPER:
        return {HELPER}
    return set()


def _strings(nodes) -> list | None:
    """The values of `nodes` when all are constants (the names an import or a getattr is given), else None."""
    values = []
    for node in nodes:
        if not isinstance(node, ast.Constant):
            return None
        values.append(node.value)
    return values


class Scope:
    """The kinds of a scope's names, found flow-insensitively (every binding counts wherever it is)."""

    def __init__(self, outer: dict | None = None):
        self.names: dict[str, set] = {name: set(kinds) for name, kinds in (outer or {}).items()}
        self.hits: list[ast.AST] = []  # nodes that reach a helper

    # --- what an expression is -----------------------------------------------------------------------------

    def kinds(self, node) -> set:
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            return {BUILTIN_NAMES[node.id]} if node.id in BUILTIN_NAMES else set()
        if isinstance(node, ast.Attribute):
            return {kind for base in self.kinds(node.value) for kind in _attribute(base, node.attr)}
        if isinstance(node, ast.Subscript):
            base = self.kinds(node.value)
            if SYS_MODULES in base:
                key = _strings([node.slice])
                if key is None or not isinstance(key[0], str):
                    return {UNKNOWN_MODULE}
                return {("module", key[0])} if _is_mmembed(key[0]) else set()
            return {kind for kind in base if isinstance(kind, tuple) or kind == HELPER}
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.NamedExpr):
            return self.kinds(node.value)
        if isinstance(node, (ast.IfExp, ast.BoolOp)):
            parts = [node.body, node.orelse] if isinstance(node, ast.IfExp) else node.values
            return {kind for part in parts for kind in self.kinds(part)}
        if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Starred)):
            parts = node.elts if not isinstance(node, ast.Starred) else [node.value]
            return {kind for part in parts for kind in self.kinds(part) if isinstance(kind, tuple) or kind == HELPER}
        return set()

    def _call(self, node: ast.Call) -> set:
        func = self.kinds(node.func)
        args = list(node.args) + [keyword.value for keyword in node.keywords]
        found = set()
        if IMPORTER in func:
            named = _strings(args)
            if named is None or any(_is_mmembed(name) for name in named):
                found.add(UNKNOWN_MODULE if named is None else ("module", next(filter(_is_mmembed, named))))
        if GETATTR in func and node.args:
            target, name = self.kinds(node.args[0]), _strings(node.args[1:2])
            for kind in target:
                if kind in (SYS, IMPORTLIB, BUILTINS, SYS_MODULES):
                    found |= _attribute(kind, name[0]) if name and isinstance(name[0], str) else {kind}
                elif isinstance(kind, tuple) or kind == HELPER:
                    found |= _attribute(kind, name[0]) if name and isinstance(name[0], str) else {HELPER}
        if VARS in func and node.args and any(isinstance(k, tuple) for k in self.kinds(node.args[0])):
            found.add(HELPER)  # a module's namespace: every function in it
        if SYS_MODULES in func:
            found.add(UNKNOWN_MODULE)  # sys.modules.get(...), .values(), .items(), .pop(...)
        if isinstance(node.func, ast.Name) and node.func.id in PASS_THROUGH and node.args:
            found |= {kind for kind in self.kinds(node.args[0]) if isinstance(kind, tuple) or kind == SYS_MODULES}
        return found

    # --- what names are bound to -----------------------------------------------------------------------------

    def bind(self, target, kinds: set) -> bool:
        """Add `kinds` to every name in `target`; True if anything was new."""
        changed = False
        for name in ast.walk(target):
            if isinstance(name, ast.Name) and not kinds <= self.names.setdefault(name.id, set()):
                self.names[name.id] |= kinds
                changed = True
        return changed

    def bind_all(self, nodes) -> None:
        """Bind every name in `nodes` until nothing changes (an alias of an alias of a module...)."""
        bindings = [binding for node in nodes for binding in _bindings(node)]
        while any([self.bind(target, self._value_kinds(value)) for target, value in bindings]):
            pass

    def _value_kinds(self, value) -> set:
        if isinstance(value, frozenset):  # a fixed kind (an import)
            return set(value)
        kinds = self.kinds(value.iter if isinstance(value, _Iterated) else value)
        if isinstance(value, _Iterated):  # `for m in sys.modules.values()`: each item may be a module
            return {UNKNOWN_MODULE} if kinds & {SYS_MODULES} or any(isinstance(k, tuple) for k in kinds) else set()
        return kinds

    def scan(self, node) -> None:
        """Record every expression in `node` that reaches a helper (its outermost node)."""
        for child in ast.walk(node):
            if isinstance(child, (ast.Attribute, ast.Subscript, ast.Call, ast.Name)) and HELPER in self.kinds(child):
                if not any(_contains(hit, child) for hit in self.hits):
                    self.hits.append(child)


class _Iterated:
    """A name bound to each item of an iterable (`for`, comprehensions)."""

    def __init__(self, iter_node):
        self.iter = iter_node


def _contains(outer, inner) -> bool:
    return any(node is inner for node in ast.walk(outer))


def _import_kinds(alias: ast.alias, module: str | None) -> frozenset:
    """What `import a.b as c`, `import a.b` or `from module import name as c` binds."""
    if module is None:  # `import x` or `import x.y [as z]`
        bound = alias.name if alias.asname else alias.name.split(".")[0]
        if _is_mmembed(bound):
            return frozenset({("module", bound)})
        return frozenset({{"sys": SYS, "importlib": IMPORTLIB, "builtins": BUILTINS}.get(bound)} - {None})
    if _is_mmembed(module):
        if alias.name in ALLOWED:
            return frozenset()
        if alias.name == "*":
            return frozenset()
        dotted = f"{module}.{alias.name}"
        if _module_file(dotted) is not None:
            return frozenset({("module", dotted)})
        return frozenset() if alias.name in _data_names(module) else frozenset({HELPER})
    if module == "sys" and alias.name == "modules":
        return frozenset({SYS_MODULES})
    if module.startswith("importlib"):
        return frozenset({IMPORTER}) if alias.name in IMPORTERS else frozenset({IMPORTLIB})
    if module == "builtins" and alias.name in BUILTIN_NAMES:
        return frozenset({BUILTIN_NAMES[alias.name]})
    return frozenset()


def _bindings(node):
    """(target, value) for every binding in `node` and below: value is an expression, an _Iterated, or a fixed
    frozenset of kinds. `from mmembed import *` binds each public name of mmembed but load_clip."""
    for child in ast.walk(node):
        if isinstance(child, ast.Assign):
            for target in child.targets:
                yield target, child.value
        elif isinstance(child, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and child.value is not None:
            yield child.target, child.value
        elif isinstance(child, (ast.For, ast.AsyncFor, ast.comprehension)):
            yield child.target, _Iterated(child.iter)
        elif isinstance(child, ast.withitem) and child.optional_vars is not None:
            yield child.optional_vars, child.context_expr
        elif isinstance(child, ast.Import):
            for alias in child.names:
                yield ast.Name(alias.asname or alias.name.split(".")[0]), _import_kinds(alias, None)
        elif isinstance(child, ast.ImportFrom):
            module = _absolute(child)
            for alias in child.names:
                if alias.name == "*" and _is_mmembed(module):
                    for name in _public_names(module) - ALLOWED:
                        yield ast.Name(name), frozenset({HELPER})
                elif alias.name != "*":
                    yield ast.Name(alias.asname or alias.name), _import_kinds(alias, module)


def _absolute(node: ast.ImportFrom) -> str:
    """A submission is a top-level module: a relative import names no package of mmembed."""
    return (node.module or "") if node.level == 0 else ""


@cache
def _public_names(dotted: str) -> frozenset[str]:
    """What `from <dotted> import *` may bind: every name the module's file binds at its top level, and, for the
    package, its lazily imported public functions."""
    file = _module_file(dotted)
    if file is None:
        return frozenset()
    names = set()
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):  # mmembed's _PUBLIC table
            names |= {key.value for key in node.value.keys if isinstance(key, ast.Constant)}
    return frozenset(name for name in names if not name.startswith("_"))


# --- the file's top level ------------------------------------------------------------------------------------


def _is_main_guard(node) -> bool:
    """`if __name__ == "__main__":`: never runs when the grader imports the file."""
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _defined_names(node) -> set[str]:
    """The top-level names a top-level statement defines (a function: also the globals it declares)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        declared = (name for child in ast.walk(node) if isinstance(child, ast.Global) for name in child.names)
        return {node.name, *declared}
    return {name.id for target, _ in _bindings(node) for name in ast.walk(target) if isinstance(name, ast.Name)}


def _used_names(node) -> set[str]:
    return {name.id for name in ast.walk(node) if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Load)}


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _last_bound_by_a_definition(body) -> set[str]:
    """Top-level names whose last top-level binding is a def or a class: that is what they are when a step runs."""
    last = {}
    for node in body:
        for name in _defined_names(node) if not isinstance(node, DEFINITIONS) else ():
            last[name] = False
        if isinstance(node, DEFINITIONS):
            last[node.name] = True
    return {name for name, definition in last.items() if definition}


def _runs_at_import(node):
    """The parts of a top-level statement that run when the file is imported: all of it, except function bodies
    (their decorators, defaults and annotations do run) and lambdas."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield from node.decorator_list
        yield from node.args.defaults
        yield from (default for default in node.args.kw_defaults if default is not None)
        return
    if isinstance(node, ast.ClassDef):
        yield from node.decorator_list
        yield from node.bases
        for statement in node.body:
            yield from _runs_at_import(statement)
        return
    yield node


def _calls_at_import(node, scope: Scope, tainted: set[str]) -> bool:
    """Does this top-level statement, when imported, call something that reaches a helper?"""
    for part in _runs_at_import(node):
        for call in (n for n in ast.walk(part) if isinstance(n, ast.Call) and not isinstance(n.func, ast.Lambda)):
            if any(_contains(call.func, hit) for hit in scope.hits) or _used_names(call.func) & tainted:
                return True
    return False


def functions_using_helpers(source: str) -> set[str]:
    """The names in GRADED, and IMPORT, whose code reaches an mmembed function other than load_clip. A file that
    does not parse: the empty set (importing it fails, and costs every step anyway)."""
    try:
        return _functions_using_helpers(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested too deep to read: left to the guard
        return set()


def _functions_using_helpers(tree: ast.Module) -> set[str]:
    body = [node for node in tree.body if not _is_main_guard(node)]
    module = Scope()
    module.bind_all([node for node in body if not isinstance(node, DEFINITIONS)])
    for name in _last_bound_by_a_definition(body):  # `def embed_images` after `from mmembed import embed_images`
        module.names.pop(name, None)
    # Each top-level statement's own hits, with the function's local names bound in a scope of its own.
    direct, uses, defines = {}, {}, {}
    for index, node in enumerate(body):
        scope = Scope(module.names)
        scope.bind_all([node])
        scope.scan(node)
        direct[index], uses[index], defines[index] = scope, _used_names(node), _defined_names(node)
    tainted: set[str] = set()
    changed = True
    while changed:  # a name is tainted when the statement defining it reaches a helper, or uses a tainted name
        changed = False
        for index in direct:
            if (direct[index].hits or uses[index] & tainted) and not defines[index] <= tainted:
                tainted |= defines[index]
                changed = True
    found = {name for name in GRADED if name in tainted}
    if any(_calls_at_import(node, direct[index], tainted) for index, node in enumerate(body)):
        found.add(IMPORT)
    return found
