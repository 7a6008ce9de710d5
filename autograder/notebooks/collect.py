"""`nbgrader collect` that never follows a link and takes a submission only from its owner: the exchange's inbound
folder is writable by every student.

nbgrader's own collect copies each submission with `shutil.copytree`, which reads whatever a link points at with
the instructor's rights, before autograding starts. `LinkSafeCollect` copies with doors.copy_regular_files
instead (O_NOFOLLOW, regular files with one name, size and count caps) and leaves a placeholder with a Korean note
for each refused notebook. nbgrader_config.py sets it as `c.ExchangeFactory.collect`.

nbgrader also takes the newest folder named `<student>+<assignment>+<time>` as that student's, whoever made it:
a classmate could hand in as someone else. Where student ids are this machine's users (a JupyterHub), a folder is
that student's only if that user owns it; others are passed over, and never copied.
"""

import os
import pwd
from fnmatch import fnmatch
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from . import doors

# What nbgrader's own collect carries along besides the notebooks: release_feedback names each feedback file
# after submission_secret.txt, and the gradebook takes the time from timestamp.txt.
KEPT = ("timestamp.txt", "submission_secret.txt")


def made_by_its_student(folder: str) -> bool:
    """Does the user the folder names own it? True where the name is no user of this machine (ids that are not
    Unix users, as when one instructor gathers every submission): there is nobody to check against."""
    student = os.path.basename(folder).rsplit("+", 3)[0]
    try:
        uid = pwd.getpwnam(student).pw_uid
    except KeyError:
        return True
    try:
        return os.stat(folder, follow_symlinks=False).st_uid == uid
    except OSError:
        return False


class LinkSafeCollect(ExchangeCollect):
    def _sort_by_timestamp(self, records):
        """Newest first, but every folder its student made before any that someone else made in that name."""

        def key(record):
            return made_by_its_student(os.path.join(self.inbound_path, record["filename"])), record["timestamp"]

        return sorted(records, key=key, reverse=True)

    def do_copy(self, src, dest, log=None):
        if not made_by_its_student(src):
            self.log.warning("Not collected: %s was made by another user than the student it names", src)
            return
        include, ignore = self.coursedir.include, self.coursedir.ignore

        def wanted(path: str, is_folder: bool) -> bool:  # as nbgrader's own ignore_patterns
            name = path.rsplit("/", 1)[-1]
            if any(fnmatch(name, pattern) for pattern in ignore):
                return False
            return is_folder or path in KEPT or any(fnmatch(name, pattern) for pattern in include)

        release = Path(self.coursedir.format_path(self.coursedir.release_directory, ".", self.coursedir.assignment_id))
        admission = doors.copy_regular_files(Path(src), Path(dest), wanted)
        if admission.refused:
            written = doors.write_placeholders(Path(dest), release, admission)
            self.log.warning("Refused in %s: %s (placeholders: %s)", src, admission.refused, written)
