"""A throwaway PostgreSQL server (Debian's package) for the tests: initdb in a temp dir, a free port.

PLATEHUB_TEST_POSTGRES_URL points the tests at an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` user the package creates."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@contextmanager
def postgres_server(port: int):
    url = os.environ.get("PLATEHUB_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL is not installed (Debian package `postgresql`); .ci/run installs it")
    root = Path(tempfile.mkdtemp(prefix="platehub-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "platehub", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                 f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]),
                   check=True, capture_output=True)
    try:
        createdb = _bin("createdb")
        for _ in range(50):
            if subprocess.run(_as_postgres([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "platehub",
                                            "platehub"]), capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        yield f"postgresql://platehub@127.0.0.1:{port}/platehub"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
