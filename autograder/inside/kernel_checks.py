"""The checks a canary runs inside a student's kernel (canary.py puts their source into the notebook).

Every check is something a disarming notebook changes; none is something an honest answer changes. Written as
real functions so they are linted and tested like the rest of the grader; canary.py renders them with
`inspect.getsource`. `_canary_baseline` runs before any student code and remembers what the kernel started with
(its threads, the library functions a test leans on); `_canary_problems` then compares against it.
"""

# Library functions a test cell or the answer export leans on: replaced in place by a notebook, they could answer
# one probe honestly and agree everywhere else. Compared by identity with the kernel's own at the start.
WATCHED = (
    "builtins.all builtins.any builtins.abs builtins.len builtins.isinstance builtins.set builtins.sorted "
    "builtins.float builtins.str builtins.round builtins.type builtins.print builtins.repr builtins.getattr "
    "numpy.allclose numpy.isclose numpy.array numpy.asarray numpy.array_equal numpy.all numpy.any "
    "numpy.linalg.norm numpy.testing.assert_allclose numpy.testing.assert_array_equal numpy.testing.assert_equal "
    "torch.allclose torch.isclose torch.equal torch.all torch.any torch.tensor torch.is_tensor "
    "torch.nn.functional.cosine_similarity torch.Tensor.__eq__ torch.Tensor.__ne__ torch.Tensor.__ge__ "
    "torch.Tensor.__le__ torch.Tensor.__and__ torch.Tensor.__getitem__ torch.Tensor.all torch.Tensor.any "
    "torch.Tensor.tolist torch.Tensor.numpy torch.Tensor.detach torch.Tensor.cpu torch.Tensor.double "
    "torch.Tensor.diagonal torch.Tensor.is_floating_point torch.Tensor.flatten torch.Tensor.numel "
    "torch.Tensor.__bool__ json.dumps"
).split()
BASELINE_MODULE = "_mmembed_canary_baseline"  # where the baseline is kept in the kernel (sys.modules)


def _canary_baseline(watched, module_name):
    """Remember the kernel's threads and the watched functions, before any student code runs. Runs IN the kernel."""
    import importlib
    import sys
    import threading
    import types

    def resolve(dotted):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                value = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for part in parts[cut:]:
                value = getattr(value, part)
            return value
        return None

    baseline = types.ModuleType(module_name)
    baseline.threads = {thread.ident for thread in threading.enumerate()}
    baseline.functions = {name: resolve(name) for name in watched}
    baseline.resolve = resolve
    sys.modules[module_name] = baseline


def _canary_problems(module_name):
    """What a disarming notebook changed in its kernel ([] when nothing). Runs IN the student's kernel, so it is
    self-contained, and its name starts with _canary_ so it does not clash with a student's."""
    import builtins
    import sys
    import threading
    import types

    import numpy
    import torch
    from IPython import get_ipython

    problems = []
    shell = get_ipython()
    if shell is None:
        return ["IPython shell missing"]
    baseline = sys.modules.get(module_name)
    if baseline is None:
        return ["canary baseline removed"]
    for name, original in baseline.functions.items():
        try:
            now = baseline.resolve(name)
        except AttributeError:
            now = None
        if now is not original:
            problems.append("replaced " + name)
    # IPython's event callbacks (pre_run_cell, post_run_cell...) run around every cell, test cells included.
    for event, callbacks in shell.events.callbacks.items():
        for callback in callbacks:
            owner = getattr(getattr(callback, "__func__", callback), "__module__", "") or ""
            if not owner.startswith(("IPython.", "ipykernel.", "matplotlib_inline.", "matplotlib.")):
                problems.append(f"IPython event callback on {event}: {repr(callback)[:60]}")
    if shell.input_transformers_post:
        problems.append("input_transformers_post")
    if shell.ast_transformers:
        problems.append("ast_transformers")
    if shell.custom_exceptions:
        problems.append("custom exception handler")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        problems.append("trace/profile function")
    manager = shell.input_transformer_manager
    for transform in [*shell.input_transformers_cleanup, *manager.line_transforms, *manager.token_transformers]:
        if not getattr(transform, "__module__", "").startswith("IPython."):
            problems.append("input transformer " + repr(transform)[:60])
    for name in (
        "run_cell",
        "run_cell_async",
        "run_ast_nodes",
        "run_code",
        "transform_cell",
        "showtraceback",
        "_showtraceback",
        "showsyntaxerror",
        "get_exception_only",
    ):
        method = getattr(shell, name, None)
        owner = getattr(getattr(method, "__func__", method), "__module__", "") or ""
        if not owner.startswith(("IPython.", "ipykernel.")):
            problems.append("shell." + name)
    for name in (
        "all",
        "any",
        "abs",
        "len",
        "isinstance",
        "tuple",
        "list",
        "set",
        "sorted",
        "float",
        "str",
        "round",
        "print",
        "type",
        "repr",
        "getattr",
        "AssertionError",
    ):
        value = getattr(builtins, name, None)
        if type(value) not in (types.BuiltinFunctionType, type) or value.__module__ != "builtins":
            problems.append("builtins." + name)
        # A data value under a builtin's name (`list = [1, 2]`, a common first-year habit) can only make a test
        # that calls it fail; only something callable in its place can make a test pass that should not.
        shadow = shell.user_ns.get(name, value)
        if shadow is not value and callable(shadow):
            problems.append(name + " redefined")
    try:
        numpy.testing.assert_allclose(0.0, 1.0)
        problems.append("numpy.testing.assert_allclose")
    except AssertionError:
        pass
    if numpy.allclose(0.0, 1.0) or bool(torch.allclose(torch.zeros(2), torch.ones(2))):
        problems.append("allclose")
    if bool((torch.tensor([1.0, 2.0]) == torch.tensor([1.0, 3.0])).all()):
        problems.append("torch ==")
    mmembed = sys.modules.get("mmembed")
    if mmembed is not None:
        for name in ("load_clip", "load_images", "embed_texts", "embed_images", "search", "top_k"):
            if not getattr(getattr(mmembed, name, None), "__module__", "").startswith("mmembed."):
                problems.append("mmembed." + name)
    # A thread the notebook started could clear or write into the outputs of later test cells; threads of
    # the libraries (tqdm's monitor, thread pools) are fine.
    started = baseline.threads
    libraries = (
        "threading",
        "concurrent.",
        "tqdm",
        "ipykernel",
        "IPython",
        "jupyter_client",
        "zmq",
        "matplotlib",
        "torch",
        "transformers",
        "huggingface_hub",
        "httpx",
        "anyio",
        "urllib3",
    )
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None) or getattr(thread, "function", None)  # Thread, Timer
        origin = getattr(target, "__module__", "") if target is not None else type(thread).__module__
        if thread.ident not in started and not (origin or "").startswith(libraries):
            problems.append("thread left running: " + thread.name)
    return problems
