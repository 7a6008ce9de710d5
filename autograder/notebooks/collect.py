"""`nbgrader collect` that never follows a link: the exchange's inbound folder is writable by every student.

nbgrader's own collect copies each submission with `shutil.copytree`, which reads whatever a link points at with
the instructor's rights, before autograding starts. `LinkSafeCollect` copies with doors.copy_regular_files
instead (O_NOFOLLOW, regular files with one name, size and count caps) and leaves a placeholder with a Korean note
for each refused notebook. nbgrader_config.py sets it as `c.ExchangeFactory.collect`.
"""

from fnmatch import fnmatch
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from . import doors

# What nbgrader's own collect carries along besides the notebooks: release_feedback names each feedback file
# after submission_secret.txt, and the gradebook takes the time from timestamp.txt.
KEPT = ("timestamp.txt", "submission_secret.txt")


class LinkSafeCollect(ExchangeCollect):
    def do_copy(self, src, dest, log=None):
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
