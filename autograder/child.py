"""Runs ONE submission and sends back what it returned, as plain data. Started by runner.py as
`python -E -s child.py`, inside the sandbox when there is one.

The job arrives on stdin (wire.py messages: "job", "search_images", "search_texts"); each result leaves on the
pipe whose number the job names, as soon as its step is done. This process holds student code, so nothing it
sends is trusted: the grader checks every type and shape and scores the data itself, and this process never
sees an expected answer.

Standalone on purpose: it imports nothing of the grader but wire.py, which lies beside it (in the sandbox, the
rest of the grader is not there to import).
"""

import contextlib
import importlib.util
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

# Kept before the submission is imported: a submission that rebinds these changes nothing here.
TENSOR, PIL_IMAGE, ASARRAY, WRITE = torch.Tensor, Image.Image, np.asarray, os.write


class Results:
    """The pipe to the grader. Each message is written whole, in order."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, name: str, value) -> None:
        data = memoryview(encode(name, value))
        while data:
            data = data[WRITE(self.fd, data) :]


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


def step_load_images(module, job, results, inputs):
    result = module.load_images(job["image_dir"])
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return {"error": f"(사진 리스트, 파일 이름 리스트) 두 개가 아니라 {type(result).__name__}"}
    images, names = list(result[0]), list(result[1])
    means = np.full((len(images), 3), np.nan)
    modes = []
    for i, image in enumerate(images):
        if not isinstance(image, PIL_IMAGE):
            modes.append(f"<{type(image).__name__}>")
            continue
        modes.append(str(image.mode))
        pixels = ASARRAY(image)
        if pixels.ndim == 3 and pixels.shape[2] == 3:
            means[i] = pixels.reshape(-1, 3).mean(axis=0)
    results.send("load_images_means.npy", means)
    return {"names": [file_name(name) for name in names], "modes": modes}


def step_embed_images(module, job, results, inputs):
    array, error = to_array(module.embed_images(inputs["images"], inputs["model"], inputs["processor"]))
    if error:
        return {"error": error}
    results.send("embed_images.npy", array)
    return {}


def step_embed_text(module, job, results, inputs):
    errors = {}
    for i, query in enumerate(job["queries"]):
        try:
            array, errors[i] = to_array(module.embed_text(query, inputs["model"], inputs["processor"]))
            if array is not None:
                results.send(f"embed_text_{i}.npy", array)
        except Exception as error:
            errors[i] = short_error(error)
    return {"errors": [errors.get(i) for i in range(len(job["queries"]))]}


def step_search_top1(module, job, results, inputs):
    images, texts = torch.from_numpy(inputs["search_images"]), torch.from_numpy(inputs["search_texts"])
    answers = []
    for i in range(texts.shape[0]):
        try:
            answer = module.search_top1(texts[i : i + 1].clone(), images.clone(), list(job["search_names"]))
            answers.append(file_name(answer))
        except Exception as error:
            answers.append(f"<오류> {short_error(error)}")
    return {"answers": answers}


def step_main(module, job, results, inputs):
    """main() runs with QUERY replaced by a text the grader chose, so printing a memorised Top-1 line fails."""
    module.QUERY = job["queries"][job["main_query"]]
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        module.main()
    return {"stdout": captured.getvalue()[-5000:]}


STEPS = {
    "load_images": step_load_images,
    "embed_images": step_embed_images,
    "embed_text": step_embed_text,
    "search_top1": step_search_top1,
    "main": step_main,
}


def main():
    inputs = decode(sys.stdin.buffer.read())
    job = inputs.pop("job")
    results = Results(job["result_fd"])
    torch.set_num_threads(max(1, int(job.get("threads", 1))))
    model, processor = mmembed.load_clip(job["model"], device="cpu")
    images, _ = mmembed.load_images(job["image_dir"])  # the reference's own pictures, for embed_images
    inputs.update(model=model, processor=processor, images=images)

    spec = importlib.util.spec_from_file_location("quiz_search", job["submission"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["quiz_search"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as error:  # SystemExit and KeyboardInterrupt too
        results.send("import", {"error": short_error(error)})
        return
    with contextlib.suppress(Exception):  # for a main() that reads IMAGE_DIR when it runs
        module.IMAGE_DIR = pathlib.Path(job["image_dir"])
    results.send("import", {})

    for step in job["steps"]:
        try:
            data = STEPS[step](module, job, results, inputs)
        except BaseException as error:
            data = {"error": short_error(error)}
        results.send(step, data)


if __name__ == "__main__":
    main()
