"""A throwaway mosquitto broker (Debian's package) for the tests: a temp config, a free port.

`Mosquitto.stop()` and `.start()` take the broker away and bring it back on the same port (an outage)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if not found:
        raise RuntimeError("mosquitto is not installed (Debian package `mosquitto`); .ci/run installs it")
    return found


class Mosquitto:
    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="platehub-mqtt-"))
        self.config = self.root / "mosquitto.conf"
        self.config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                               f"user {getpass.getuser()}\nlog_dest file {self.root / 'log'}\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([_bin(), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                assert self.proc.poll() is None, (self.root / "log").read_text() if (self.root / "log").exists() else ""
                assert time.time() < deadline, "mosquitto did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
