"""Shared fixtures: the dev data set (read from ../shared, never copied), the engine, a real server.
What the tests share besides fixtures is in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import DEV_DATA, REPO, Server

from platehub.simulator.harness import free_port


@pytest.fixture(scope="session")
def train_data() -> Path:
    """plates-train (crops.jsonl, synth-assets), beside the dev set."""
    path = Path(os.environ.get("PLATEHUB_TRAIN_DATA") or (DEV_DATA or REPO.parent / "shared/data/x").parent
                / "plates-train")
    if not (path / "crops.jsonl").exists():
        pytest.fail("plates-train is missing: set PLATEHUB_TRAIN_DATA to shared/data/plates-train")
    return path


@pytest.fixture(scope="session")
def dev_data() -> Path:
    if DEV_DATA is None:
        pytest.fail("the dev data set is missing: set PLATEHUB_DEV_DATA to shared/data/plates-dev")
    return DEV_DATA


@pytest.fixture(scope="session")
def photo(dev_data: Path):
    """Bytes of a real photo from the dev set by file name."""
    return lambda name: (dev_data / "images" / name).read_bytes()


@pytest.fixture(scope="session")
def engine():
    from platehub.engine import Engine

    return Engine.load()


@pytest.fixture(scope="module")
def pg_url():
    """A throwaway PostgreSQL server (Debian's package) for one test module."""
    from postgres import postgres_server

    with postgres_server(free_port()) as url:
        yield url


@pytest.fixture(scope="module")
def redis_url():
    """A throwaway Redis server (Debian's package) for one test module."""
    from platehub.simulator.daemons import RedisServer

    srv = RedisServer(free_port()).start()
    yield srv.url
    srv.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real server for the API tests (default settings: no token required)."""
    srv = Server(tmp_path_factory.mktemp("server") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server(tmp_path):
    """A real server with custom settings, e.g. make_server(PLATEHUB_REQUIRE_TOKEN="1")."""
    started = []

    def make(**env: str) -> Server:
        srv = Server(tmp_path / f"data{len(started)}", **env).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (only its wheel: the system browser is used)."""
    from platehub.simulator.harness import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it (Debian: apt-get install -y chromium) "
                    "or point PLATEHUB_CHROMIUM at it; these tests need a real browser and never skip")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[test]' (it needs only the wheel, not "
                    "`playwright install`: the system Chromium is used)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
