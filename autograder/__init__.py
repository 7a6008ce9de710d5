"""Autograder for quizzes 3-6 (`quiz_search.py`), and the nbgrader setup for the notebook quizzes.

    python -m autograder SUBMISSION [--results results.json]      (also: gradescope, export, summary, ci; __main__.py)

SUBMISSION is one `quiz_search.py` or a folder of `<student>/quiz_search.py`. Each student gets a child process
(`inside/child.py`, in the sandbox of `sandbox/`) that runs one step per fork; the grader checks what each step
sends (`protocol.py`) and scores it against the reference solution, which it runs itself with the same model
(`reference.py`), mmembed.grading.GRADING_MODEL unless --model names another. `session.py` gets a grading
run ready, for the command line and for Gradescope alike.
`pytest autograder/` runs the same checks as a self-check.

The trust boundary is a folder: everything in `inside/` runs beside student code; nothing outside it does.
"""
