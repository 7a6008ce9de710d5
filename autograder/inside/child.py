"""Runs ONE submission and sends back what it returned, as plain data. Started by runner.py as
`python -E -s child.py`, inside the sandbox when there is one.

The job arrives on stdin (wire.py messages: "job", "search_images", "search_texts", "reference_means"); each
result leaves on the pipe whose number the job names, as soon as its step is done. This process holds student
code, so nothing it sends is trusted: the grader checks every type and shape and scores the data itself, and
this process never sees an expected answer.

Grading costs about one run of the student's own program: main() runs first (with a hidden QUERY), the
student's functions are recorded as main() calls them, and a later step reuses a recorded call when it is the
very call the step would make (the course's model, the course's pictures in order). Only what main() did not
do is called again. Before each step and each call, a "running" message says where the child is, so when it
hangs or dies the grader knows which function to blame and which steps to run again in a fresh child.

Standalone on purpose: it imports nothing of the grader but wire.py, which lies beside it (in the sandbox, the
rest of the grader is not there to import).
"""

import contextlib
import functools
import io
import os
import pathlib
import sys
import traceback

import numpy as np
import torch
from PIL import Image
from wire import decode, encode

import mmembed
from mmembed.modules import load_module

# Kept before the submission is imported: a submission that rebinds these changes nothing here.
TENSOR, PIL_IMAGE, ASARRAY, WRITE, LOAD_CLIP = torch.Tensor, Image.Image, np.asarray, os.write, mmembed.load_clip
TOLERANCE_MEAN_RGB = 1.0  # as the grader's check: the same pictures, decoded by another JPEG decoder
FUNCTIONS = ("load_images", "embed_images", "embed_text", "search_top1")


class Results:
    """The pipe to the grader. Each message is written whole, in order."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, name: str, value) -> None:
        data = memoryview(encode(name, value))
        while data:
            data = data[WRITE(self.fd, data) :]


class Recorder:
    """Wraps the submission's functions: says which one runs, and keeps the first call of each (arguments and
    result) so a later step need not compute it again."""

    def __init__(self, module, results: Results):
        self.calls, self.results, self.step = {}, results, None
        for name in FUNCTIONS:
            function = getattr(module, name, None)
            if callable(function):
                setattr(module, name, self._wrap(name, function))
        self.originals = {name: getattr(getattr(module, name, None), "__wrapped__", None) for name in FUNCTIONS}

    def _wrap(self, name, function):
        @functools.wraps(function)
        def recorded(*args, **kwargs):
            self.results.send("running", {"step": self.step, "function": name})
            result = function(*args, **kwargs)
            self.calls.setdefault(name, (args, kwargs, result))
            return result

        return recorded

    def original(self, name):
        function = self.originals.get(name)
        if function is None:
            raise AttributeError(f"{name} 함수가 없습니다")
        return function


def short_error(error: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return text[-500:] or type(error).__name__


def to_array(value):
    """A real torch.Tensor (any float dtype, any device) -> float32 numpy array; anything else -> what it was."""
    if not isinstance(value, TENSOR):
        return None, f"torch.Tensor가 아니라 {type(value).__name__}"
    return ASARRAY(TENSOR.numpy(TENSOR.to(TENSOR.detach(value), "cpu", torch.float32))), None


def file_name(value) -> str:
    """What the grader compares: a name as str, or `<type>` for anything else. A path counts by its name, so
    "val_3.JPEG", "./images/quiz-image/val_3.JPEG" and Path(".../val_3.JPEG") all answer "val_3.JPEG"."""
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


class Steps:
    """The five steps; each returns the data the grader scores (or {"error": ...})."""

    def __init__(self, module, job, results, inputs, recorder):
        self.module, self.job, self.results, self.inputs, self.recorder = module, job, results, inputs, recorder
        self.model, self.processor = inputs["model"], inputs["processor"]

    def recorded(self, name, model_at=None):
        """The recorded call of `name` (args, kwargs, result), if main() made it with the course's model."""
        call = self.recorder.calls.get(name)
        if call is None or (model_at is not None and (len(call[0]) <= model_at or call[0][model_at] is not self.model)):
            return None
        return call

    def reference_pictures(self):
        if "pictures" not in self.inputs:
            self.inputs["pictures"], _ = mmembed.load_images(self.job["image_dir"])
        return self.inputs["pictures"]

    def main(self):
        """main() runs with QUERY replaced by a text the grader chose, so printing a memorised Top-1 line fails."""
        self.module.QUERY = self.job["queries"][self.job["main_query"]]
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            self.module.main()
        return {"stdout": captured.getvalue()[-5000:]}

    def load_images(self):
        call = self.recorded("load_images")
        result = (
            call[2] if call is not None else self.recorder.original("load_images")(pathlib.Path(self.job["image_dir"]))
        )
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return {"error": f"(사진 리스트, 파일 이름 리스트) 두 개가 아니라 {type(result).__name__}"}
        images, names = list(result[0]), list(result[1])
        modes = [str(image.mode) if isinstance(image, PIL_IMAGE) else f"<{type(image).__name__}>" for image in images]
        self.results.send("load_images_means.npy", picture_means(images))
        return {"names": [file_name(name) for name in names], "modes": modes}

    def embed_images(self):
        call = self.recorded("embed_images", model_at=1)
        if call is not None and self._are_the_course_pictures(call[0][0] if call[0] else None):
            value = call[2]
        else:
            value = self.recorder.original("embed_images")(self.reference_pictures(), self.model, self.processor)
        array, error = to_array(value)
        if error:
            return {"error": error}
        self.results.send("embed_images.npy", array)
        return {}

    def _are_the_course_pictures(self, images) -> bool:
        reference = self.inputs["reference_means"]
        if not isinstance(images, (list, tuple)) or len(images) != len(reference):
            return False
        return bool(np.all(np.abs(picture_means(list(images)) - reference) <= TOLERANCE_MEAN_RGB))

    def embed_text(self):
        errors = {}
        call = self.recorded("embed_text", model_at=1)
        for i, query in enumerate(self.job["queries"]):
            try:
                if call is not None and call[0] and call[0][0] == query:
                    value = call[2]
                else:
                    value = self.recorder.original("embed_text")(query, self.model, self.processor)
                array, errors[i] = to_array(value)
                if array is not None:
                    self.results.send(f"embed_text_{i}.npy", array)
            except Exception as error:
                errors[i] = short_error(error)
        return {"errors": [errors.get(i) for i in range(len(self.job["queries"]))]}

    def search_top1(self):
        images = torch.from_numpy(self.inputs["search_images"])
        texts = torch.from_numpy(self.inputs["search_texts"])
        search, answers = self.recorder.original("search_top1"), []
        for i in range(texts.shape[0]):
            try:
                answers.append(
                    file_name(search(texts[i : i + 1].clone(), images.clone(), list(self.job["search_names"])))
                )
            except Exception as error:
                answers.append(f"<오류> {short_error(error)}")
        return {"answers": answers}


def main():
    inputs = decode(sys.stdin.buffer.read())
    job = inputs.pop("job")
    results = Results(job["result_fd"])
    torch.set_num_threads(max(1, int(job.get("threads", 1))))
    model, processor = LOAD_CLIP(job["model"], device="cpu")
    inputs.update(model=model, processor=processor)

    def load_clip(name=None, device=None):  # main()'s model is the one already loaded: no second load
        return (model, processor) if name in (None, job["model"]) else LOAD_CLIP(name, device=device)

    mmembed.load_clip = load_clip
    results.send("running", {"step": "import", "function": None})
    try:
        module = load_module(job["submission"], "quiz_search")
    except BaseException as error:  # SystemExit and KeyboardInterrupt too
        results.send("import", {"error": short_error(error)})
        return
    with contextlib.suppress(Exception):  # for a main() that reads IMAGE_DIR when it runs
        module.IMAGE_DIR = pathlib.Path(job["image_dir"])
    results.send("import", {})

    recorder = Recorder(module, results)
    steps = Steps(module, job, results, inputs, recorder)
    for step in job["steps"]:
        recorder.step = step
        results.send("running", {"step": step, "function": None})
        try:
            data = getattr(steps, step)()
        except BaseException as error:
            data = {"error": short_error(error)}
        results.send(step, data)


if __name__ == "__main__":
    main()
