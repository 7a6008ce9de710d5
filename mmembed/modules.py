"""Modules made by hand: a Python file loaded by its path (a quiz solution, a student's submission, a tool), and a
package whose public names are imported on first use."""

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType


def load_module(path: str | Path, name: str) -> ModuleType:
    """Run the file at `path` as the module `name` (registered in `sys.modules`) and return it.

    Registered first, as the import system does, so the file's dataclasses and pickling find their module;
    if running the file raises, the half-made module is removed again and the error propagates.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot load {path} as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def imported_on_first_use(package: str, public: dict[str, str]) -> tuple[Callable, Callable]:
    """A package's `__getattr__` and `__dir__` (PEP 562) for `public` = {name: module that defines it}: the module
    is imported when the name is first read, so importing the package costs nothing (torch takes seconds)."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str):
        if name not in public:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(public[name]), name)
        namespace[name] = value  # the next lookup finds it without coming here
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
