"""The checks a canary runs inside a student's kernel (canary.py puts their source into the notebook).

Every check is something a disarming notebook changes; none is something an honest answer changes. Written as a
real function so it is linted and tested like the rest of the grader; canary.py renders it with `inspect.getsource`.
"""


def _canary_problems():
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
    started = shell.user_ns.get("_canary_threads") or set()
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
