"""The JUnit XML that `python -m autograder FILE --junit report.xml` writes for CI systems (GitLab's Tests tab,
Jenkins): valid against Jenkins' junit-10.xsd (vendored in schemas/ with its MIT licence), whatever a student prints.
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from autograder import config, report
from autograder.checks import failed, passed
from autograder.grade import Graded, all_failed
from tests.helpers import REPO_ROOT

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "schemas" / "junit-10.xsd")

# Every kind of character a student's code can put in its output: C0 controls (NUL, BEL, ESC, a terminal's colour
# codes, form feed, vertical tab), DEL and C1 controls, a lone surrogate (an undecodable file name), the two
# non-characters XML forbids, markup, a quote, and text a JUnit viewer must show as it is.
HOSTILE = (
    "틀렸습니다: 색이 바뀝니다 \x1b[31mRED\x1b[0m\x00\x01\x07\x08\x0b\x0c\x7f\x85\x9b"
    '\udc80\ufffe\uffff <failure message="x"/> & ]]> \'따옴표\' "큰따옴표"\n'
    "둘째 줄\ttab\r\n끝 😀"
)


def results(checks, note="", status="ok") -> dict:
    return report.results(Graded(checks, status, 12.34), secrets=[], note=note)


def every_check(output: str, passing: set[str]) -> list:
    return [(passed if name in passing else failed)(name, output) for name in config.POINTS]


def test_hostile_student_output_gives_valid_junit():
    data = results(every_check(HOSTILE, passing={"load_images", "main_output"}))
    xml = report.junit(data)
    SCHEMA.validate(xml)  # raises with the first schema error
    root = ET.fromstring(xml)
    cases = root.findall("testsuite/testcase")
    assert [case.get("name") for case in cases] == list(config.TITLES.values())
    failures = [case.find("failure") for case in cases if case.find("failure") is not None]
    assert len(failures) == len(config.POINTS) - 2 == int(root.find("testsuite").get("failures"))
    text = failures[0].text
    # Shown, not dropped: each forbidden character as an escape; what XML can hold comes back unchanged.
    for escape in ["\\x1b[31mRED", "\\x00", "\\x07", "\\x0b", "\\x7f", "\\x85", "\\udc80", "\\ufffe", "\\uffff"]:
        assert escape in text
    assert '<failure message="x"/> & ]]>' in text and "'따옴표' \"큰따옴표\"" in text and "😀" in text
    assert "둘째 줄\ttab" in text


def test_failure_message_is_the_reason_and_points_are_suite_properties():
    checks = every_check("", passing=set())
    checks[0] = failed("load_images", "사진이 199장입니다. 200장이어야 합니다.\n자세한 설명은 둘째 줄에")
    checks[1] = passed("embed_images_shape", "모양 (200, 512)")
    data = results(checks)
    xml = report.junit(data)
    SCHEMA.validate(xml)
    suite = ET.fromstring(xml).find("testsuite")
    first = suite.find("testcase/failure")
    assert first.get("message") == "사진이 199장입니다. 200장이어야 합니다."
    assert "자세한 설명은 둘째 줄에" in first.text
    # A check that gave no feedback still says something: its points.
    assert suite.findall("testcase")[2].find("failure").get("message") == "0/2점"
    properties = {p.get("name"): int(p.get("value")) for p in suite.find("properties")}
    assert properties["score"] == data["score"] == 1 and properties["max_score"] == config.MAX_SCORE
    for name, points in config.POINTS.items():
        assert properties[f"max_score.{name}"] == points
    assert properties["score.embed_images_shape"] == 1 and properties["score.load_images"] == 0
    assert all(case.find("properties") is None for case in suite.findall("testcase"))  # junit-10.xsd rejects them


def test_full_marks_and_a_timeout_are_valid_too():
    full = results([passed(name, "좋습니다") for name in config.POINTS])
    SCHEMA.validate(report.junit(full))
    assert ET.fromstring(report.junit(full)).find("testsuite").get("failures") == "0"
    timeout = results(all_failed("시간 초과 (30초)\x1b[0m"), status="timeout")
    SCHEMA.validate(report.junit(timeout))


def test_the_schema_rejects_what_the_old_report_wrote():
    """The vendored schema is the one that catches the old mistake: <properties> inside a <testcase>."""
    old = ET.fromstring(report.junit(results(every_check("x", passing=set()))))
    case = old.find("testsuite/testcase")
    ET.SubElement(ET.SubElement(case, "properties"), "property", name="score", value="0")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(ET.tostring(old, encoding="unicode"))


def test_vendored_schema_keeps_its_licence():
    head = (Path(__file__).parent / "schemas" / "junit-10.xsd").read_text(encoding="utf-8")[:1500]
    assert "The MIT License (MIT)" in head and "Copyright (c) 2014, Gregory Boissinot" in head


def test_ci_module_reads_the_results_the_junit_comes_from(tmp_path):
    """autograder.ci reads the results.json the JUnit XML is made from, hostile output and all (a lone surrogate is
    kept as its JSON escape): its exit code follows the check's points."""
    data = results(every_check(HOSTILE, passing={"main_output"}))
    path = tmp_path / "results.json"
    report.write_results(data, path)
    run = subprocess.run(
        [sys.executable, "-m", "autograder.ci", str(path), "load_images"], capture_output=True, cwd=REPO_ROOT
    )
    assert run.returncode == 1 and b"0/2" in run.stdout
    assert report.junit(json.loads(path.read_text(encoding="utf-8"))) == report.junit(data)
    run = subprocess.run([sys.executable, "-m", "autograder.ci", str(path)], capture_output=True, cwd=REPO_ROOT)
    assert run.returncode == 0 and run.stdout.decode() == f"Score: 1/{config.MAX_SCORE} (8%)\n"
