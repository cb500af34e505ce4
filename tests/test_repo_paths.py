"""A clean install: no path of a particular machine in the repository (the dev data is ../shared or
PLATEHUB_DEV_DATA, temporary files go under the system's temp folder)."""

from __future__ import annotations

import re
import subprocess

from helpers import REPO

# absolute paths into one machine's home or work folders
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home|check|Users)/[\w.-]")


def machine_paths(text: str) -> list[str]:
    return [m.group(0) for m in MACHINE_PATH.finditer(text)]


def test_the_pattern_finds_machine_paths_and_nothing_else():
    assert machine_paths('SPEC = Path("/work/shared/specs/x.txt")') == ["/work/s"]
    assert machine_paths("python /root/.pyenv/bin/python") == ["/root/."]
    assert machine_paths('"xl/worksheets/" ../shared/data/plates-dev ~/work/x /tmp/export https://x.org/home/a') == []


def test_no_file_of_the_repository_names_a_machine_path():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    found = {}
    for name in files.decode().split("\0"):
        path = REPO / name
        if not name or path.name == "test_repo_paths.py":  # its own examples are not findings
            continue
        if name == ".ci/run":  # the CI machine's own entry point may name where that machine keeps shared/
            continue
        if not path.is_file() or path.suffix in (".onnx", ".pt", ".jpg", ".png", ".whl"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if hits := machine_paths(text):
            found[name] = hits
    assert found == {}
