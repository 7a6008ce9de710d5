"""The rule of quizzes 3-6 at run time: a call of an `mmembed` function other than load_clip, seen as it happens.

Installed by the fork server (child.py) before any submission is imported. Every function defined in an mmembed
module (and each method of its classes) is replaced, in the namespaces of mmembed's modules, by a wrapper; a
module of mmembed imported later is covered as it is imported (an import hook). An alias, `from ... import`,
importlib, __import__, getattr and sys.modules all fetch a function from those namespaces, so all of them get
the wrapper.

A wrapper called from outside mmembed writes one message on the step's result pipe, then runs the function.
mmembed's own functions call each other (embed_folder calls embed_images): those calls come from a frame whose
globals are an mmembed module's, by identity, and do not count. The message is written before control returns
to the submission, so what the submission does afterwards cannot take it back, and the grader takes it as final
for the step (protocol.py, grade.py).

Student code runs in this very process and could undo the wrappers before it calls a helper; the grader also
reads the source (autograder/rules.py), which sees every plain way of reaching mmembed.

Standalone on purpose (the standard library only), as child.py's other neighbour wire.py.
"""

import contextlib
import importlib.abc
import sys
import types

ALLOWED = frozenset({"load_clip"})
MESSAGE = "helper_call"  # protocol.py: {"during": "import" | "step"}
METHOD_DUNDERS = frozenset({"__init__", "__call__", "__post_init__", "__new__"})  # what calling a class runs


def is_mmembed(name) -> bool:
    return isinstance(name, str) and (name == "mmembed" or name.startswith("mmembed."))


class Guard:
    """The wrappers, and where a use is reported: `start(send, during)` for each phase of a step."""

    def __init__(self):
        self.inside: dict[int, dict] = {}  # id -> globals of each covered mmembed module (kept alive)
        self.wrappers: dict[int, object] = {}  # id of an original -> its wrapper
        self.originals: list = []  # kept alive, so that no id above is reused
        self.wrapper_ids: set[int] = set()
        self.send = self.during = None
        self.reported: set[str] = set()
        self.uses = 0  # calls from outside mmembed, in this process

    def start(self, send, during: str) -> None:
        """From now on a use is reported with `send(MESSAGE, {"during": during})`, once per phase."""
        self.send, self.during = send, during

    def used(self) -> None:
        self.uses += 1
        if self.send is not None and self.during not in self.reported:
            self.reported.add(self.during)
            self.send(MESSAGE, {"during": self.during})

    def install(self) -> None:
        for name, module in list(sys.modules.items()):
            if is_mmembed(name):
                self.cover(module)
                covering(getattr(module, "__spec__", None), self)  # importlib.reload runs the module again
        sys.meta_path.insert(0, CoverOnImport(self))

    def cover(self, module) -> None:
        """Replace the functions in an mmembed module's namespace, and the methods of its classes, by wrappers."""
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            return
        self.inside[id(namespace)] = namespace
        for name, value in list(namespace.items()):
            if isinstance(value, type) and is_mmembed(getattr(value, "__module__", None)):
                self.cover_class(value)
            elif name not in ALLOWED and not name.startswith("__") and self.is_ours(value):
                namespace[name] = self.wrap(value)  # (a module's __getattr__ only fetches: what it fetches counts)

    def cover_class(self, cls: type) -> None:
        for name, value in list(vars(cls).items()):
            if name.startswith("__") and name not in METHOD_DUNDERS:
                continue
            try:
                if isinstance(value, (staticmethod, classmethod)) and self.is_ours(value.__func__):
                    setattr(cls, name, type(value)(self.wrap(value.__func__)))
                elif self.is_ours(value):
                    setattr(cls, name, self.wrap(value))
            except (TypeError, AttributeError):  # a class that refuses new attributes keeps its own
                pass

    def is_ours(self, value) -> bool:
        """A function defined in an mmembed module, or a cache around one (functools.cache); not a wrapper, not
        load_clip (nor the fork server's stand-in for it, which child.py defines)."""
        function = value if isinstance(value, types.FunctionType) else getattr(value, "__wrapped__", None)
        return (
            isinstance(function, types.FunctionType)
            and callable(value)
            and id(value) not in self.wrapper_ids
            and is_mmembed(getattr(function, "__module__", None))
            and function.__name__ not in ALLOWED
        )

    def wrap(self, function):
        wrapper = self.wrappers.get(id(function))
        if wrapper is not None:
            return wrapper
        guard, inside, frame = self, self.inside, sys._getframe

        def guarded(*args, **kwargs):
            caller = frame(1).f_globals
            if inside.get(id(caller)) is not caller:  # not mmembed calling itself: the submission's use
                guard.used()
            return function(*args, **kwargs)

        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            with contextlib.suppress(AttributeError, TypeError):
                setattr(guarded, attribute, getattr(function, attribute))
        self.wrappers[id(function)] = guarded
        self.originals.append(function)
        self.wrapper_ids.add(id(guarded))
        return guarded


def covering(spec, guard: Guard):
    """`spec`, its loader now one that covers the module each time it runs it."""
    if spec is not None and hasattr(spec.loader, "exec_module") and not isinstance(spec.loader, CoveringLoader):
        spec.loader = CoveringLoader(spec.loader, guard)
    return spec


class CoverOnImport(importlib.abc.MetaPathFinder):
    """Covers each mmembed module imported after `install`, as soon as it has run."""

    def __init__(self, guard: Guard):
        self.guard = guard

    def find_spec(self, name, path, target=None):
        if not is_mmembed(name):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                return covering(spec, self.guard)
        return None


class CoveringLoader(importlib.abc.Loader):
    """The module's own loader, which covers the module each time it has run it (an import, a reload)."""

    def __init__(self, loader, guard: Guard):
        self.loader, self.guard = loader, guard

    def __getattr__(self, name):  # get_resource_reader, get_source, ...: the module's own loader answers
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.guard.inside[id(module.__dict__)] = module.__dict__  # its own top-level code is mmembed's too
        self.loader.exec_module(module)
        self.guard.cover(module)
