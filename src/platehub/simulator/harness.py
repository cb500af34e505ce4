"""A real `platehub serve` subprocess and the system's headless Chromium, for the simulations,
benchmarks, screenshot tool and browser tests that drive platehub from outside."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from platehub import config

CHROMIUM = config.read_env(config.CHROMIUM)  # Debian's package by default; no `playwright install`
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, timeout: float = 120.0, **env: str) -> tuple[subprocess.Popen, str]:
    """`platehub serve` on a free local port with its data in `data` (PLATEHUB_* overrides in `env`);
    returns the process and its URL once `/info/` answers."""
    port = free_port()
    environ = {**os.environ, "PLATEHUB_DATA": str(data), **env}
    proc = subprocess.Popen([sys.executable, "-m", "platehub.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/info/", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")
