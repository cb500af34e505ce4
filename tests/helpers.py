"""What the tests share besides fixtures (those are in conftest.py): where the repository and the dev
data set are, a store on SQLite or PostgreSQL, real servers (`platehub serve` in a subprocess, the app in
a thread) and a site with its CLI."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import text

from platehub.config import Settings
from platehub.simulator.harness import free_port

REPO = Path(__file__).resolve().parent.parent


def _dev_data() -> Path | None:
    """PLATEHUB_DEV_DATA, else ../shared/data/plates-dev beside the repository."""
    candidates = [os.environ.get("PLATEHUB_DEV_DATA"), REPO.parent / "shared/data/plates-dev"]
    for c in candidates:
        if c and (Path(c) / "manifest.jsonl").exists():
            return Path(c)
    return None


DEV_DATA = _dev_data()


def store_on(request, tmp_path: Path, wipe: tuple[str, ...]):
    """A Store on SQLite or on the module's PostgreSQL (request.param), the `wipe` tables emptied there."""
    from platehub.core.store import Store

    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    store = Store(request.getfixturevalue("pg_url"), tmp_path / "images")
    with store.engine.begin() as conn:
        for table in wipe:
            conn.execute(text(f"DELETE FROM {table}"))
    return store


def settings_changes(data: Path, setting: str) -> list[tuple[str | None, dict]]:
    """(user, details) of the event log's settings entries for `setting`, oldest first, in the SQLite
    database of the data directory `data`."""
    import json
    import sqlite3

    with sqlite3.connect(data / "platehub.db") as db:
        rows = db.execute("SELECT user, details FROM event_log WHERE type = 'settings' ORDER BY id").fetchall()
    return [(user, d) for user, d in ((u, json.loads(x)) for u, x in rows) if d.get("setting") == setting]


async def until(condition, timeout: float = 10.0) -> None:
    """Wait (on the event loop) until `condition()` holds; fail after `timeout` seconds."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def next_event(ws, timeout: float = 20.0) -> dict:
    """The next WebSocket message that is not a ping."""
    import json

    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg.get("topic") != "ping":
            return msg


class Server:
    """`platehub serve` in a subprocess with its own data directory and environment."""

    serve_args: tuple[str, ...] = ()  # more `platehub serve` options, e.g. ("--access-log",)

    def __init__(self, data: Path, **env: str) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PLATEHUB_DATA": str(data), "PLATEHUB_ADMIN_PASSWORD": "admin-test", **env}
        self.log = data.parent / f"server-{self.port}.log"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "platehub.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)

    def start(self) -> Server:
        self.data.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "platehub.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 *self.serve_args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log.read_text())
            try:
                if httpx.get(self.url + "/info/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def alive(self) -> bool:
        return self.proc.poll() is None and httpx.get(self.url + "/info/", timeout=5).status_code == 200


class InProcess:
    """The app served by uvicorn on its own event loop in a thread of the test process."""

    def __init__(self, data: Path, engine=None, **overrides) -> None:
        """`engine`: a stand-in for the recognition engine (the models are then not loaded)."""
        from platehub.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(data_dir=data, host="127.0.0.1", port=self.port, **overrides)
        os.environ.setdefault("PLATEHUB_ADMIN_PASSWORD", "admin-test")
        self.app = create_app(self.settings, engine)
        self.hub = self.app.state.platehub
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True)

    def start(self) -> InProcess:
        self.thread.start()
        deadline = time.time() + 90
        while not self.server.started:
            assert self.thread.is_alive() and time.time() < deadline, "in-process server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def call(self, fn, timeout: float = 5.0):
        """Run fn() on the server's loop (awaited when it returns an awaitable)."""

        async def run():
            result = fn()
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def status(self, serial: str) -> list[tuple[str, str, str | None]]:
        return [(c.kind, c.status, c.via) for c in reversed(self.hub.store.commands.list(serial))]


class Site:
    """A real server (uvicorn in a thread, a stand-in engine: nothing here reads plates) and
    `platehub` commands run as processes of their own on its data directory."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.server = InProcess(data, engine=object()).start()
        self.url = self.server.url

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "platehub.cli", *args, "--data", str(self.data)],
                              capture_output=True, text=True, timeout=120)
