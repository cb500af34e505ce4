"""A clean install: the wheel built from this repository, installed in a fresh venv, serves with its own models.

The venv is made by `python -m venv` (no system site-packages); the wheel goes in with `pip install --no-deps`, and
its third-party dependencies are borrowed from the test's own environment through a .pth file written after the
install, so no download is needed. platehub itself (code, models, console files, migrations) comes from the wheel:
the test checks that the installed package lives in the new venv, not in src/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import REPO

from platehub.simulator.harness import free_port


def _run(*cmd: str | Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{cmd}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the built wheel installed in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    # built from a copy of the sources: an in-tree build would also pack whatever an older build left in build/
    source = tmp / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source)
    _run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist")
    (wheel,) = (tmp / "dist").glob("platehub-*.whl")
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin/python"
    # this pip, run by the new venv's interpreter: installs into the new venv only
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel,
         env=_clean_env())
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                     env=_clean_env()).stdout.strip())
    # this process's import path, less any folder holding a platehub package (src/): the dependencies only
    deps = [p for p in sys.path if p and Path(p).is_dir() and not (Path(p) / "platehub").exists()]
    (site / "zz-platehub-test-deps.pth").write_text("".join(f"{p}\n" for p in deps))
    return venv


def _clean_env(**env: str) -> dict[str, str]:
    """The environment without anything that would put src/ on the new venv's path."""
    return {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}, **env}


def test_the_wheel_holds_platehub_itself(venv):
    code = "import platehub, platehub.engine.runtime as r; print(platehub.__file__); print(r.MODELS)"
    package, models = _run(venv / "bin/python", "-c", code, env=_clean_env(), cwd=venv).stdout.split()
    assert Path(package).is_relative_to(venv), package
    assert Path(models).is_relative_to(venv) and (Path(models) / "plate_reader.onnx").is_file(), models


def test_platehub_serve_from_the_wheel_reads_a_plate(venv, photo, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = _clean_env(PLATEHUB_DATA=str(tmp_path / "data"), PLATEHUB_ADMIN_PASSWORD="admin-test")
    with open(log, "w") as out:
        proc = subprocess.Popen([venv / "bin/platehub", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while True:
            assert proc.poll() is None, "server exited:\n" + log.read_text()
            assert time.time() < deadline, "server did not start:\n" + log.read_text()
            try:
                if httpx.get(url + "/info/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        response = httpx.post(url + "/v1/plate-reader/", files={"upload": ("car.jpg", photo("hr-01.jpg"))},
                              timeout=60)
        assert response.status_code == 200, response.text
        assert [r["plate"] for r in response.json()["results"]] == ["zg9757hg"]
        # the console's files and the database migrations came with it
        assert httpx.get(url + "/", timeout=10).status_code == 200
        assert httpx.get(url + "/console/pages/try.js", timeout=10).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
