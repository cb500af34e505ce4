"""A throwaway Redis server (Debian's `redis-server`) for the tests: a temp directory, a free port, no
persistence. `RedisServer.stop()` and `.start()` take it away and bring it back on the same port (a
restart: everything it held is gone, as after a crash of a Redis without persistence)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin() -> str:
    debian = "/usr/bin/redis-server"
    found = shutil.which("redis-server") or (debian if Path(debian).exists() else None)
    if not found:
        raise RuntimeError("redis-server is not installed (Debian package `redis-server`); .ci/run installs it")
    return found


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="platehub-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [_bin(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--logfile", str(self.root / "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            assert self.proc.poll() is None, (self.root / "log").read_text() if (self.root / "log").exists() else ""
            assert time.time() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
