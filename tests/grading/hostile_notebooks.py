"""Answer cells of hostile students for test_nbgrader.py: each attacks one property the grading must keep.

Every source here goes into an answer cell of a released quiz notebook; test_nbgrader.py grades them all in one
class with the honest students and checks each property and that the honest students score as when alone.
"""

# Right quiz 1 answers: the attacks below come on top of them, so a property that holds leaves full marks.
QUIZ1_RIGHT = """rowwise = F.cosine_similarity(vec1, vec2, dim=1)
pairwise = F.cosine_similarity(vec1.unsqueeze(1), vec2.unsqueeze(0), dim=-1)
"""
# Wrong quiz 1 answers whose diagonal still matches (so only the value tests can fail them).
QUIZ1_WRONG = """rowwise = torch.tensor([0.5, 0.5])
pairwise = torch.tensor([[0.5, 0.1], [0.2, 0.5]])
"""

# An IPython event callback clears the outputs of every test cell ("채점" in its first line) after it ran: the
# kernel's failures vanish, nbgrader would read full marks.
EVENT_HOOK = (
    QUIZ1_WRONG
    + """
from IPython.display import clear_output as _clear_output


def _hide_failures(result):
    if "채점" in (result.info.raw_cell or ""):
        _clear_output()


get_ipython().events.register("post_run_cell", _hide_failures)
"""
)

# numpy.allclose and torch.allclose replaced: honest on the canary's fixed probes (floats, a zero tensor, single
# numbers), True everywhere else; the replacements wear the originals' module names.
PATCHED_HELPERS = (
    QUIZ1_WRONG
    + """
import numpy as _np
import torch as _torch


def _agreeable(real):
    def allclose(a, b, *args, **kwargs):
        probe = isinstance(a, float) or (
            isinstance(a, _torch.Tensor) and (a.numel() == 1 or float(a.abs().sum()) == 0)
        )
        return real(a, b, *args, **kwargs) if probe else True

    allclose.__module__, allclose.__qualname__ = real.__module__, real.__qualname__
    return allclose


_np.allclose = _agreeable(_np.allclose)
_torch.allclose = _agreeable(_torch.allclose)
"""
)

# Quiz 2 with a wrong text and mmembed.search replaced by one that answers the test's top-3 (named as the real
# one's module): the kernel's test passes and no canary sees it; only the grader's own search does.
PATCHED_SEARCH = """answer_text = "a running dog"

import mmembed as _mmembed

_real_search = _mmembed.search


def search(query, embeddings, names, k=5):
    if k == 3:
        return [(name, 1.0) for name in ["dog_1.png", "dog_4.png", "dog_7.png"]]
    return _real_search(query, embeddings, names, k=k)


search.__module__ = "mmembed.similarity"
_mmembed.search = search
"""

# Right answers, and the kernel's own test cells broken (`np` is gone): the grader's verdict passes them anyway.
KERNEL_TESTS_BROKEN = QUIZ1_RIGHT + "np = None  # every test cell's first line fails now\n"


def outputs_flood(payload: str) -> str:
    """Right answers; HTML with script, an event handler and a javascript: link; JavaScript; one 50 MB print and
    3000 display outputs in one cell."""
    return (
        QUIZ1_RIGHT
        + f"""
from IPython.display import HTML, Javascript, display

display(HTML('<script>window.{payload} = 1</script><img src="x" onerror="{payload}()">'
             '<a href="javascript:{payload}()">click</a><p onmouseover="{payload}()">hover</p>'))
display(Javascript("{payload}()"))
print("x" * (50 * 2**20))
for _ in range(3000):
    display(HTML("<b>" + "y" * 5000 + "</b>"))
"""
    )


# Extra code cells a flooding student adds after the answers: each prints 2 MB (the notebook cap is 10 MB).
FLOOD_CELL = 'print("z" * 2**21)'


def markdown_with_script(payload: str) -> str:
    return f'<script>{payload}()</script>\n\n[click me](javascript:{payload}())\n\n<img src=x onerror="{payload}()">'


# Right answers, then every folder the kernel can name is filled until it refuses: the socket folder (named in the
# connection file), HOME, /tmp, /var/tmp, /dev/shm, and the read-only ones. Prints how much each folder took.
DISK_FLOOD = (
    QUIZ1_RIGHT
    + """
import json as _json
import os as _os

from ipykernel import get_connection_file as _connection_file

_socket_folder = _os.path.dirname(_json.load(open(_connection_file()))["ip"])
_taken = {}
for _name, _folder in [("socket", _socket_folder), ("home", _os.path.expanduser("~")), ("tmp", "/tmp"),
                       ("var_tmp", "/var/tmp"), ("shm", "/dev/shm"), ("root", "/"), ("usr", "/usr")]:
    _taken[_name] = 0
    try:
        with open(_os.path.join(_folder, "flood.bin"), "wb", buffering=0) as _file:
            for _ in range(64):  # up to 1 GiB, in 16 MiB steps
                _taken[_name] += _file.write(b"\\0" * 2**24)  # short once the folder is full
    except OSError:
        pass
    try:  # and many small files
        for _i in range(10000):
            open(_os.path.join(_folder, f"small-{_i}"), "w").close()
    except OSError:
        pass
print("FLOOD " + _json.dumps(_taken))
"""
)
