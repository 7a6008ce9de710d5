"""Students' folder names as the grader shows them: decoded without loss, never two alike, safe as a file name.

A folder's name is bytes. A class folder unzipped from a zip made on Korean Windows has names in CP949, not UTF-8,
and a name may hold bytes that are neither. Each student folder gets one name, used for its row in grades.csv and
for its result file `<name>.json`; the grader itself still opens the folder by its real bytes.

The rule, for the folders of one class:

1. Decode the bytes as UTF-8; if that fails, as CP949; if that fails too, as UTF-8 with each byte that does not
   decode written `\\xNN`.
2. Write as `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN` every character that a spreadsheet or a terminal would not show as
   itself (control and format characters, line and paragraph separators, lone surrogates), every `/`, and a
   leading `.` (a hidden file). Cut a name longer than MAX_BYTES bytes of UTF-8 and end it with `…`.
3. Two names are the same when they differ only in case or Unicode normalisation (a Mac or Windows disk would
   store their result files as one file). Every folder keeps its name if no other folder has the same one; among
   folders that do, the one whose raw bytes sort first keeps it, and each of the others, in the order of their
   raw bytes, gets ` (2)`, ` (3)`, ...: the smallest number that makes a name no other folder has.

So no result file starts with `.` or holds a `/`, none is grades.csv or the instructor's log (each ends in `.json`),
and each fits the 255-byte limit of a file name with room for write_atomically's temporary name beside it.
"""

import unicodedata
from collections.abc import Iterable

# `<name>.json` and write_atomically's `.<name>.json.XXXXXXXX.tmp` must fit in 255 bytes, ` (12)` included.
MAX_BYTES = 200
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # Unicode categories shown as escapes


def decoded(raw: bytes) -> str:
    """The name in steps 1 and 2 of the rule."""
    for encoding in ("utf-8", "cp949"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = raw.decode("utf-8", errors="backslashreplace")
    shown = "".join(_escape(char) if unicodedata.category(char) in HIDDEN or char == "/" else char for char in text)
    if shown.startswith("."):
        shown = _escape(".") + shown[1:]
    return _fit(shown)


def unique_names(raws: Iterable[bytes]) -> dict[str, bytes]:
    """name -> raw folder name for each of `raws`, by the whole rule, sorted by name."""
    ordered = sorted(set(raws))
    wanted = {raw: decoded(raw) for raw in ordered}
    taken: dict[str, bytes] = {}
    for raw in ordered:
        taken.setdefault(_same(wanted[raw]), raw)
    names = {wanted[raw]: raw for raw in ordered if taken[_same(wanted[raw])] == raw}
    for raw in ordered:
        if taken[_same(wanted[raw])] != raw:
            number = 2
            while _same(name := _fit(wanted[raw], f" ({number})")) in taken:
                number += 1
            taken[_same(name)] = raw
            names[name] = raw
    return dict(sorted(names.items()))


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _fit(name: str, suffix: str = "") -> str:
    """`name` + `suffix` within MAX_BYTES bytes of UTF-8, `name` cut and ended with `…` if needed."""
    if len((name + suffix).encode("utf-8")) <= MAX_BYTES:
        return name + suffix
    room = MAX_BYTES - len(("…" + suffix).encode("utf-8"))
    return name.encode("utf-8")[:room].decode("utf-8", errors="ignore") + "…" + suffix


def _same(name: str) -> str:
    """What a case-insensitive, normalisation-insensitive file system (macOS, Windows) would store `name` as."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())
