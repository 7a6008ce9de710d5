"""Runs ONE submission and writes what it returned as plain data. Started by sandbox.py as `python -I child.py IO_DIR`.

This process holds student code, so nothing it writes is trusted: the grader loads arrays with
`allow_pickle=False`, checks every type and shape, and scores them itself. This process never sees an expected
answer. It writes one `<step>.json` per finished step (atomically), so a crash costs only the step it happens in.
Standalone on purpose: it imports nothing from the autograder package.
"""

import contextlib
import importlib.util
import io
import json
import os
import pathlib
import sys
import traceback

import numpy as np
import torch
from PIL import Image

import mmembed

# Kept before the submission is imported: a submission that rebinds torch.Tensor or Image.Image changes nothing here.
TENSOR, PIL_IMAGE, NP_SAVE, ASARRAY = torch.Tensor, Image.Image, np.save, np.asarray


def write_json(io_dir, name, data):
    tmp = os.path.join(io_dir, name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False)
    os.replace(tmp, os.path.join(io_dir, name + ".json"))


def short_error(error):
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return text[-500:]


def to_array(value):
    """A real torch.Tensor -> float32 numpy array; anything else -> a description of what it was."""
    if not isinstance(value, TENSOR):
        return None, f"torch.Tensor가 아니라 {type(value).__name__}"
    array = ASARRAY(TENSOR.numpy(TENSOR.to(TENSOR.detach(value), "cpu", torch.float32)))
    return array, None


def step_load_images(module, job, io_dir, inputs):
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
    NP_SAVE(os.path.join(io_dir, "load_images_means.npy"), means)
    return {"names": [name if isinstance(name, str) else f"<{type(name).__name__}>" for name in names], "modes": modes}


def step_embed_images(module, job, io_dir, inputs):
    array, error = to_array(module.embed_images(inputs["images"], inputs["model"], inputs["processor"]))
    if error:
        return {"error": error}
    NP_SAVE(os.path.join(io_dir, "embed_images.npy"), array)
    return {}


def step_embed_text(module, job, io_dir, inputs):
    errors = {}
    for i, query in enumerate(job["queries"]):
        try:
            array, errors[i] = to_array(module.embed_text(query, inputs["model"], inputs["processor"]))
            if array is not None:
                NP_SAVE(os.path.join(io_dir, f"embed_text_{i}.npy"), array)
        except Exception as error:
            errors[i] = short_error(error)
    return {"errors": [errors.get(i) for i in range(len(job["queries"]))]}


def step_search_top1(module, job, io_dir, inputs):
    images = torch.from_numpy(np.load(os.path.join(io_dir, "search_images.npy"), allow_pickle=False))
    texts = torch.from_numpy(np.load(os.path.join(io_dir, "search_texts.npy"), allow_pickle=False))
    answers = []
    for i in range(texts.shape[0]):
        try:
            answer = module.search_top1(texts[i : i + 1].clone(), images.clone(), list(job["search_names"]))
            answers.append(answer if isinstance(answer, str) else f"<{type(answer).__name__}>")
        except Exception as error:
            answers.append(f"<오류> {short_error(error)}")
    return {"answers": answers}


def step_main(module, job, io_dir, inputs):
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
    io_dir = sys.argv[1]
    with open(os.path.join(io_dir, "job.json"), encoding="utf-8") as file:
        job = json.load(file)
    torch.set_num_threads(max(1, int(job.get("threads", 1))))
    model, processor = mmembed.load_clip(job["model"], device="cpu")
    images, _ = mmembed.load_images(job["image_dir"])  # the reference's own pictures, for embed_images
    inputs = {"model": model, "processor": processor, "images": images}

    spec = importlib.util.spec_from_file_location("quiz_search", job["submission"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["quiz_search"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as error:  # SystemExit and KeyboardInterrupt too
        write_json(io_dir, "import", {"error": short_error(error) or type(error).__name__})
        return
    with contextlib.suppress(Exception):  # main() finds the pictures even if the submission was moved
        module.IMAGE_DIR = pathlib.Path(job["image_dir"])
    write_json(io_dir, "import", {})

    for step in job["steps"]:
        try:
            data = STEPS[step](module, job, io_dir, inputs)
        except BaseException as error:
            data = {"error": short_error(error) or type(error).__name__}
        write_json(io_dir, step, data)


if __name__ == "__main__":
    main()
