"""nbgrader for the course's instructor: the course's grading configuration, on top of the server's.

With JUPYTER_CONFIG_DIR pointing at this folder, nbgrader (the command line and the formgrader in JupyterLab) reads
every nbgrader_config.py on Jupyter's path: the server's (/etc/jupyter, with course_id and Exchange.root), then
this one, which loads the grading configuration of the course folder nbgrader runs in (autograder/notebooks/
nbgrader_config.py: the sandbox, the link-safe collect, the hidden tests). Do not add --NbGrader.config_file to a
command as well: nbgrader then reads only that file, and the server's course_id and Exchange.root are lost.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (traitlets defines get_config when it runs this file)

course = Path(os.environ.get("MMEMBED_COURSE", os.getcwd()))
course_config = course / "autograder" / "notebooks" / "nbgrader_config.py"
if course_config.is_file():
    load_subconfig(str(course_config))  # noqa: F821  (traitlets defines it too)
