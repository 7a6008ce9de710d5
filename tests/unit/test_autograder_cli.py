"""`python -m autograder`: one command line with subcommands, one grading model, libraries that raise and do not print.

Everything here runs without a model and without grading anyone (the grading itself: tests/grading/).
"""

import json
import os
import re

import nbformat
import pytest

from autograder import __main__ as cli
from autograder import ci, config, export, gradescope, summary
from autograder.sandbox import bubblewrap
from mmembed import grading
from tests.helpers import REPO_ROOT, run_python


def test_grade_is_the_default_command_and_every_command_is_listed(capsys):
    assert cli.parse_args(["quiz_search.py", "--jobs", "3"]).handler is cli.command
    assert cli.parse_args(["--results", "r.json", "quiz_search.py"]).handler is cli.command
    named = cli.parse_args(["grade", "export"])  # a submission folder called like a command
    assert named.handler is cli.command and str(named.submission) == "export"
    assert cli.parse_args(["ci", "results.json"]).handler is ci.command
    assert cli.parse_args(["summary", "results"]).handler is summary.command
    assert cli.parse_args(["export", "--format", "canvas", "--roster", "r", "--output", "o"]).handler is export.command
    with pytest.raises(SystemExit) as help_exit:
        cli.main(["--help"])
    listed = capsys.readouterr().out
    assert help_exit.value.code == 0 and all(name in listed for name in ["grade", *cli.COMMANDS])


def test_gradescope_without_an_action_grades_nobody(tmp_path, capsys):
    """Its --run flag and the dispatcher's own attribute once shared a name: every call then graded <root>."""
    assert cli.main(["gradescope", "--root", str(tmp_path)]) == 2
    assert "--output" in capsys.readouterr().err and not (tmp_path / "results").exists()


def test_ci_reads_one_check_or_the_score(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(gradescope.error_results("no grade")), encoding="utf-8")
    assert cli.main(["ci", str(path), "load_images"]) == 1
    assert capsys.readouterr().out.startswith(f"{config.TITLES['load_images']}: 0/2")
    assert cli.main(["ci", str(path)]) == 0
    assert capsys.readouterr().out == f"Score: 0/{config.MAX_SCORE} (0%)\n"
    assert cli.main(["ci", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as unknown:
        cli.main(["ci", str(path), "no_such_check"])
    assert unknown.value.code == 2


def test_last_terms_entry_points_still_work_with_a_note(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(gradescope.error_results("no grade")), encoding="utf-8")
    old = run_python(["-m", "autograder.ci", str(path)])
    assert old.returncode == 0 and old.stdout == f"Score: 0/{config.MAX_SCORE} (0%)\n"
    assert "`python -m autograder ci`" in old.stderr and "2027 spring term" in old.stderr


def test_one_grading_model_for_every_grader():
    assert config.GRADING_MODEL == grading.GRADING_MODEL
    assert cli.parse_args(["quiz_search.py"]).model == grading.GRADING_MODEL
    assert cli.parse_args(["gradescope"]).model == grading.GRADING_MODEL
    overridden = run_python(
        ["-c", "from autograder.__main__ import parse_args as p; print(p(['x']).model, p(['gradescope']).model)"],
        env={**os.environ, grading.GRADING_MODEL_ENV: "tiny"},
    )
    assert overridden.stdout.split() == ["tiny", "tiny"], overridden.stderr


def test_the_quiz_notebooks_and_the_recheck_load_the_grading_model_by_name():
    """Quizzes 2 and 7 grade with the grading model online and offline (no bare load_clip(), which is the lectures'
    model), say which in Korean, and the grader's own recheck outside the kernel loads the same."""
    for folder in ("solutions", "quizzes"):
        for name in ("quiz2_topk_text", "quiz7_find_pictures"):
            code = "\n".join(
                cell.source
                for cell in nbformat.read(REPO_ROOT / folder / "quiz_notebooks" / f"{name}.ipynb", 4).cells
                if cell.cell_type == "code"
            )
            loads = re.findall(r"load_clip\(([^)]*)\)", code)
            assert loads and set(loads) == {"GRADING_MODEL"}, (folder, name, loads)
            assert "from mmembed.grading import GRADING_MODEL" in code and '"채점 모델:"' in code
    recheck = (REPO_ROOT / "autograder" / "notebooks" / "hidden_tests.py").read_text(encoding="utf-8")
    assert re.findall(r"load_clip\(([^)]*)\)", recheck) == ["GRADING_MODEL"]


def test_a_local_model_folder_is_a_typed_error_and_no_bundle(tmp_path):
    with pytest.raises(gradescope.BundleError, match="local folder"):
        gradescope.build_bundle(tmp_path / "autograder.zip", model=str(tmp_path))
    assert not (tmp_path / "autograder.zip").exists()


@pytest.mark.parametrize(
    ("available", "required", "choice"),
    [
        (True, True, bubblewrap.Choice.SANDBOX),
        (False, False, bubblewrap.Choice.FALLBACK),
        (False, True, bubblewrap.Choice.REFUSED),
    ],
)
def test_choose_decides_and_says_nothing(monkeypatch, capfd, available, required, choice):
    monkeypatch.setattr(bubblewrap, "status", lambda: bubblewrap.Status(available, "" if available else "no bwrap"))
    assert bubblewrap.choose(required) is choice
    assert capfd.readouterr() == ("", "")
