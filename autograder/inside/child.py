"""The fork server that runs ONE student's quiz_search.py, one step per forked process. Started by runner.py as
`python -E -s child.py`, inside the sandbox when there is one.

Starting Python, importing torch and transformers and loading the model costs 3-4 s, so this process does it
once and never runs student code itself. For each step the grader sends a request on the control socket
with two fresh pipes; this process forks, and only the fork imports the submission, reads the step's inputs
from its own pipe and writes the step's result on its own pipe. So a step never holds another step's inputs,
and the grader knows which step every byte it reads belongs to.

Student code in a fork runs under the same user as this process. What keeps it from reaching back here:
- this process is not dumpable (prctl), so a fork can neither ptrace it nor read its memory or open file
  descriptors through /proc;
- the fork closes the control socket before the submission is imported;
- after each step, every other process of the sandbox is killed before the grader is told the step is over.
A fork can still kill this process; the grader then starts a fresh one for the steps left.

Before any submission is imported, guard.py wraps mmembed's functions (all but load_clip): a call of one from
the submission is reported on the step's own pipe as it happens ("helper_call"), and costs the step its points.

Standalone on purpose: it imports nothing of the grader but wire.py and guard.py, which lie beside it.
"""

import contextlib
import ctypes
import io
import os
import pathlib
import signal
import socket
import sys
import time
import traceback

import numpy as np
import torch
from guard import Guard
from PIL import Image
from wire import decode, encode

import mmembed
from mmembed.modules import load_module

PR_SET_DUMPABLE = 4
FUNCTIONS = ("load_images", "embed_images", "embed_text", "search_top1")
MAX_STDOUT = 5_000
MAX_ERROR = 500
# Kept before any submission is imported: a submission that rebinds these changes nothing here.
TENSOR, PIL_IMAGE, ASARRAY, WRITE = torch.Tensor, Image.Image, np.asarray, os.write


class Results:
    """A step's result pipe. Each message is written whole, in order."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, name: str, value) -> None:
        data = memoryview(encode(name, value))
        while data:
            data = data[WRITE(self.fd, data) :]


def short_error(error: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return text[-MAX_ERROR:] or type(error).__name__


def to_array(value):
    """A real torch.Tensor (any float dtype, any device) -> (float32 array, None); anything else -> (None, why)."""
    if not isinstance(value, TENSOR):
        return None, f"torch.Tensor가 아니라 {type(value).__name__}"
    return ASARRAY(TENSOR.numpy(TENSOR.to(TENSOR.detach(value), "cpu", torch.float32))), None


def file_name(value) -> str:
    """What the grader compares: a name as str, or `<type>` for anything else. A path counts by its name."""
    if isinstance(value, (str, os.PathLike)):
        return pathlib.PurePath(os.fspath(value)).name if os.fspath(value) else ""
    return f"<{type(value).__name__}>"


def picture_means(images) -> np.ndarray:
    means = np.full((len(images), 3), np.nan)
    for i, image in enumerate(images):
        if isinstance(image, PIL_IMAGE):
            pixels = ASARRAY(image)
            if pixels.ndim == 3 and pixels.shape[2] == 3:
                means[i] = pixels.reshape(-1, 3).mean(axis=0)
    return means


def announce(module, results: Results) -> None:
    """Wrap the submission's functions so the grader hears which one runs (to blame the right one on a hang)."""
    for name in FUNCTIONS:
        function = getattr(module, name, None)
        if callable(function):

            def running(*args, _name=name, _function=function, **kwargs):
                results.send("running", {"function": _name})
                return _function(*args, **kwargs)

            setattr(module, name, running)


class Step:
    """What one forked process does for one step. Each method returns the step's data (the grader checks it)."""

    def __init__(self, module, server, inputs, results):
        self.module, self.server, self.inputs, self.results = module, server, inputs, results
        self.job = inputs["job"]

    def function(self, name):
        function = getattr(self.module, name, None)
        if not callable(function):
            raise AttributeError(f"{name} 함수가 없습니다")
        return function

    def main(self):
        """main() runs with QUERY replaced by a text the grader chose, so printing a memorised Top-1 line fails."""
        self.module.QUERY = self.job["query"]
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            self.function("main")()
        return {"stdout": captured.getvalue()[-MAX_STDOUT:]}

    def load_images(self):
        result = self.function("load_images")(pathlib.Path(self.server.image_dir))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return {"error": f"(사진 리스트, 파일 이름 리스트) 두 개가 아니라 {type(result).__name__}"}
        images, names = list(result[0]), list(result[1])
        modes = [str(image.mode) if isinstance(image, PIL_IMAGE) else f"<{type(image).__name__}>" for image in images]
        self.results.send("load_images_means.npy", picture_means(images))
        return {"names": [file_name(name)[:300] for name in names], "modes": [mode[:50] for mode in modes]}

    def embed_images(self):
        value = self.function("embed_images")(self.server.pictures, self.server.model, self.server.processor)
        array, error = to_array(value)
        if error:
            return {"error": error}
        self.results.send("embed_images.npy", array)
        return {}

    def embed_text(self):
        embed, errors = self.function("embed_text"), []
        for i, query in enumerate(self.job["queries"]):
            try:
                array, error = to_array(embed(query, self.server.model, self.server.processor))
            except Exception as raised:
                array, error = None, short_error(raised)
            if array is not None:
                self.results.send(f"embed_text_{i}.npy", array)
            errors.append(error)
        return {"errors": errors}

    def search_top1(self):
        images, texts = torch.from_numpy(self.inputs["images.npy"]), torch.from_numpy(self.inputs["texts.npy"])
        search, answers = self.function("search_top1"), []
        for i in range(texts.shape[0]):
            try:
                answers.append(file_name(search(texts[i : i + 1].clone(), images.clone(), list(self.job["names"]))))
            except Exception as error:
                answers.append(f"<오류> {short_error(error)}"[:400])
        return {"answers": answers}


def run_step(server, step: str, job_fd: int, result_fd: int) -> None:
    """In the fork: import the submission, read the step's inputs, run the step, send its result, exit.

    The submission is imported before the inputs are read, so an error raised while importing it cannot carry
    them (the grader may show that error to the student)."""
    results = Results(result_fd)
    torch.set_num_threads(server.threads)
    server.guard.start(results.send, "import")
    try:
        module = load_module(server.submission, "quiz_search")
    except BaseException as error:  # SystemExit and KeyboardInterrupt too
        results.send(step, {"error": short_error(error), "during": "import"})
        return
    results.send("imported", {})
    server.guard.start(results.send, "step")
    with open(job_fd, "rb", closefd=True) as pipe:
        inputs = decode(pipe.read())
    with contextlib.suppress(Exception):  # for a main() that reads IMAGE_DIR when it runs
        module.IMAGE_DIR = pathlib.Path(server.image_dir)
    announce(module, results)
    try:
        data = getattr(Step(module, server, inputs, results), step.removesuffix("_hidden"))()
    except BaseException as error:
        data = {"error": short_error(error)}
    results.send(step, data)


class Server:
    """The model, processor and pictures, loaded once before any fork."""

    def __init__(self, setup: dict):
        self.submission, self.image_dir = setup["submission"], setup["image_dir"]
        self.threads, self.sweep = max(1, int(setup["threads"])), setup["sweep"]
        torch.set_num_threads(1)  # no OpenMP thread pool before fork: a forked copy of one stalls the step's own
        self.model, self.processor = mmembed.load_clip(setup["model"], device="cpu")
        self.pictures, _ = mmembed.load_images(self.image_dir)

        def load_clip(name=None, device=None):  # main()'s model is the one already loaded: no second load
            return (self.model, self.processor)

        mmembed.load_clip = load_clip
        self.guard = Guard()  # last: the server's own calls above are not the submission's
        self.guard.install()

    def fork_step(self, step: str, job_fd: int, result_fd: int, control: socket.socket) -> int:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                os.setpgid(0, 0)
                run_step(self, step, job_fd, result_fd)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(job_fd)
        os.close(result_fd)
        _, status = os.waitpid(pid, 0)
        clean = self.kill_the_rest(pid)
        return {"exit": os.waitstatus_to_exitcode(status), "clean": clean}

    def kill_the_rest(self, pgid: int) -> bool:
        """Kill whatever the step left running. In the sandbox's PID namespace (or under a throwaway uid) every
        other process of this user is the student's: kill(-1) reaches them all. Otherwise only the step's
        process group can be reached. True when nothing is left."""
        if not self.sweep:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            return True
        me = os.getpid()
        for _ in range(200):
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            while True:  # reap our own children (the step's orphans were reparented to pid 1, not here)
                try:
                    if os.waitpid(-1, os.WNOHANG)[0] == 0:
                        break
                except ChildProcessError:
                    break
            if not self.others_left(me):
                return True
            time.sleep(0.01)
        return False

    @staticmethod
    def others_left(me: int) -> bool:
        uid = os.getuid()
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and int(entry.name) not in (1, me):
                with contextlib.suppress(OSError):
                    if entry.stat().st_uid == uid and not is_zombie(entry.path):
                        return True
        return False


def is_zombie(proc_dir: str) -> bool:
    with contextlib.suppress(OSError), open(f"{proc_dir}/stat", "rb") as stat_file:
        return stat_file.read().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")
    return True


def main():
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    setup = decode(sys.stdin.buffer.read())["setup"]
    control = socket.socket(fileno=setup["control_fd"])
    server = Server(setup)
    control.sendall(encode("ready", {}))
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1_000, 2)
        if not message or len(fds) != 2:
            return
        step = decode(message)["step"]["name"]
        control.sendall(encode("done", {"step": step, **server.fork_step(step, fds[0], fds[1], control)}))


if __name__ == "__main__":
    main()
