"""nbgrader for the quiz notebooks (quizzes 1, 2 and 7): everything the grader adds to it.

    nbgrader_config.py  the course's nbgrader configuration (pass it with --NbGrader.config_file=...)
    doors.py            regular files only: submissions by hand, checked before autograding
    collect.py          `nbgrader collect` from the exchange, following no link
    kernel_manager.py   each student's kernel in the sandbox, in a cgroup, with a size-capped socket folder
    canary.py           nbgrader's Execute with canary probes (a tripwire) and the grader's own verdicts
    verdicts.py         every graded answer exported as plain data and tested outside the kernel
    hidden_tests.py     those tests, run as a script in a fresh process
    outputs.py          outputs capped in bytes and HTML made inert
    parallel.py         a class autograded several students at a time, into one gradebook

What runs inside the student's kernel (the canary's checks, the answer export) is in autograder/inside/.
"""
