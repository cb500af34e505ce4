"""A real HAProxy (Debian's package) in front of platehub processes, for the cluster tests: a temp config
with a free port, round robin over the given backends, WebSockets and held comet polls let through."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = """global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    option redispatch
    retries 2
frontend platehub
    bind 127.0.0.1:{port}
    default_backend processes
backend processes
    balance roundrobin
    option httpchk GET /info/
{servers}
"""


def _bin() -> str:
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)
    if not found:
        raise RuntimeError("haproxy is not installed (Debian package `haproxy`); .ci/run installs it")
    return found


class Haproxy:
    def __init__(self, port: int, backends: list[int]) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.root = Path(tempfile.mkdtemp(prefix="platehub-haproxy-"))
        servers = "\n".join(f"    server p{i} 127.0.0.1:{b} check inter 500 fall 2 rise 1"
                            for i, b in enumerate(backends, 1))
        (self.root / "haproxy.cfg").write_text(CONFIG.format(port=port, servers=servers))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Haproxy:
        with open(self.root / "log", "w") as log:
            self.proc = subprocess.Popen([_bin(), "-f", str(self.root / "haproxy.cfg"), "-db"],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                assert self.proc.poll() is None, (self.root / "log").read_text()
                assert time.time() < deadline, "haproxy did not start"
                time.sleep(0.05)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
