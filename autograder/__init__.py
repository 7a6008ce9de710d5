"""Autograder for quizzes 3-6 (`quiz_search.py`).

    python -m autograder SUBMISSION [--results results.json]

SUBMISSION is one `quiz_search.py` or a folder of `<student>/quiz_search.py`. Each submission runs in its own
child process (`child.py`); the grader scores what the child hands back against the reference solution, which it
runs itself with the same model (`reference.py`). `pytest autograder/` runs the same checks as a self-check.
"""
