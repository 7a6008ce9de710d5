"""Loading a Python file as a module by its path: a quiz solution, a student's submission, a tool."""

import importlib.util
import sys
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
