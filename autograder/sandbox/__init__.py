"""How student code is contained, shared by both graders (`python -m autograder` and nbgrader's kernels).

bubblewrap.py  the sandbox: read-only files, no network, private /tmp, its own PID namespace
isolation.py   a throwaway user id for each child when the grader is root; rlimits
cgroups.py     a control group per child: memory (shmem, memfd and tmpfs included), processes, CPU time
cores.py       how many cores this grader may use (CPU quota, affinity)
"""
