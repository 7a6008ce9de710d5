"""Gradescope-style results and grades.csv. Every output passes through `scrub` before a student sees it."""

import csv
import json
from pathlib import Path

from . import config


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "(숨김)")
    return text


def results(checks: list[tuple[str, int, str]], secrets: list[str]) -> dict:
    tests = [
        {
            "name": config.TITLES[name],
            "score": score,
            "max_score": config.POINTS[name],
            "output": scrub(output, secrets),
            "visibility": "visible",
        }
        for name, score, output in checks
    ]
    return {"score": sum(test["score"] for test in tests), "max_score": config.MAX_SCORE, "tests": tests}


def failed_results(message: str) -> dict:
    """Results when the grader could not grade a submission at all (a missing file, a grader error)."""
    return results([(name, 0, message) for name in config.POINTS], [])


def write_results(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def write_grades(rows: list[tuple[str, int, int]], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "score", "max_score"])
        writer.writerows(rows)
