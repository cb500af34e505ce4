"""Throwaway servers from Debian's packages for the tests and benchmarks that run platehub as it is deployed:
a Redis (no persistence; `stop()` then `start()` is a restart that lost everything), a mosquitto broker
(`stop()`/`start()`: an outage, same port) and HAProxy running deploy/haproxy.cfg itself in front of N
platehub processes. Each on a free local port, in a temp directory."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from platehub.simulator.harness import free_port

HAPROXY_CFG = Path(__file__).resolve().parents[3] / "deploy" / "haproxy.cfg"  # a source checkout's


def binary(name: str, *places: str) -> str:
    found = shutil.which(name) or next((p for p in places if Path(p).exists()), None)
    if not found:
        raise RuntimeError(f"{name} is not installed (Debian package; tools/install-test-deps installs it)")
    return found


def wait_for_port(port: int, proc: subprocess.Popen, name: str, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start: {log.read_text() if log.exists() else ''}")
        time.sleep(0.05)


class Daemon:
    """A server process of the tests' own, in a temp directory (`root`): `stop()` ends the process (`start()`
    may run it again), `close()` also removes the directory; a context manager runs it for a block."""

    def __init__(self, prefix: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Daemon:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class RedisServer(Daemon):
    def __init__(self, port: int | None = None) -> None:
        super().__init__("platehub-redis-", port)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [binary("redis-server", "/usr/bin/redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.root / "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, "redis-server", self.root / "log")
        return self


class Mosquitto(Daemon):
    def __init__(self, port: int | None = None) -> None:
        super().__init__("platehub-mqtt-", port)
        self.config = self.root / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                               f"user {getpass.getuser()}\nlog_dest file {self.root / 'log'}\n")

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([binary("mosquitto", "/usr/sbin/mosquitto"), "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, "mosquitto", self.root / "log")
        return self


def haproxy_config(servers: int, directory: Path, source: Path = HAPROXY_CFG) -> Path:
    """deploy/haproxy.cfg as it is for two servers; for another count, its `server` lines repeated to one
    per process (LB_SERVER_1 … LB_SERVER_N)."""
    if servers == 2:
        return source
    lines = [f'    server platehub{i} "${{LB_SERVER_{i}}}" check' for i in range(1, servers + 1)]
    text = re.sub(r'(?m)^    server platehub\d+ .*\n', "", source.read_text()).rstrip("\n")
    path = directory / "haproxy.cfg"
    path.write_text(text + "\n" + "\n".join(lines) + "\n")
    return path


def balancer_env(bind: str, servers: list[str]) -> dict[str, str]:
    """deploy/haproxy.cfg's environment: where to listen, and the processes (`host:port` each)."""
    env = {"PATH": os.environ.get("PATH", ""), "LB_BIND": bind}
    env.update({f"LB_SERVER_{i}": s for i, s in enumerate(servers, 1)})
    return env


class Balancer(Daemon):
    """Debian's HAProxy running deploy/haproxy.cfg in front of the platehub processes at `urls`."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__("platehub-haproxy-")
        self.url = f"http://127.0.0.1:{self.port}"
        self.servers = [u.split("//", 1)[1] for u in urls]

    def start(self) -> Balancer:
        config = haproxy_config(len(self.servers), self.root)
        with open(self.root / "log", "w") as log:
            self.proc = subprocess.Popen([binary("haproxy", "/usr/sbin/haproxy"), "-db", "-f", str(config)],
                                         env=balancer_env(f"127.0.0.1:{self.port}", self.servers),
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, "haproxy", self.root / "log")
        return self
