"""Code that runs beside student code: in a sandboxed child process, or in a student's kernel.

Everything here is on the far side of the trust boundary. It imports nothing of the grader (a test checks), it
is shown read-only inside the sandbox, and the grader trusts nothing it sends back: what arrives is parsed
against a strict schema (`wire.py`) and scored outside.

    child.py          the fork server that runs one step of one quiz_search.py per forked process
    wire.py           the messages between the grader and a child
    kernel_checks.py  the canary's checks, run inside a student's nbgrader kernel
    answer_export.py  a notebook's answers printed as plain data, for the grader's own tests outside the kernel
"""
