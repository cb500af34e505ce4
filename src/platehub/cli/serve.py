"""`platehub serve`: the server, all protocols on one port (app.py); `--workers N`: N server processes on
that port (uvicorn's own multi-process mode), which share their state through PostgreSQL and Redis."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from platehub.cli.common import settings_from, with_data
from platehub.config import SETTINGS, Settings, flag_help, settings_help

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKER_HEALTHCHECK = 30  # seconds a busy worker may take to answer the supervisor's ping before it is killed

SEVERAL = """\
Several processes (--workers N, N > 1): uvicorn starts N processes that accept connections on the one
port, and restarts one that dies. They share everything through the database and Redis, so N > 1 needs
PLATEHUB_REDIS_URL and a PostgreSQL PLATEHUB_DATABASE_URL (SQLite's writer lock and the in-memory bus
are per process); it is refused otherwise. Every process loads the models and runs PLATEHUB_WORKERS
recognitions at once. The supervisor migrates the database and creates the admin user before starting
them. On several hosts, run `platehub serve` on each behind a load balancer (docs/deployment.md)."""


def several_processes_refusal(settings: Settings, processes: int) -> str | None:
    """Why `processes` server processes cannot share these settings; None when they can."""
    if processes <= 1:
        return None
    missing = [need for need, ok in (
        ("PLATEHUB_REDIS_URL", bool(settings.redis_url)),
        ("a PostgreSQL PLATEHUB_DATABASE_URL", settings.db_url.startswith(("postgresql://", "postgres://"))),
    ) if not ok]
    if not missing:
        return None
    return (f"--workers {processes} needs {' and '.join(missing)}: several processes share their state through "
            "PostgreSQL and Redis (SQLite's writer lock and the in-memory bus are per process)")


def flags_environment(args: argparse.Namespace) -> dict[str, str]:
    """The settings given as flags (--data, --database-url, --host, --port) as PLATEHUB_* variables, for the
    worker processes (which read their settings from the environment, `Settings.from_env`)."""
    env = {}
    for s in SETTINGS:
        value = getattr(args, s.flag[2:].replace("-", "_"), None) if s.flag else None
        if value is not None:
            env[s.var] = str(Path(value).resolve()) if s.kind is Path else str(value)
    return env


def lean_log_records() -> None:
    """Log records without what LOG_FORMAT never prints (the logging docs' "Optimization" section): the
    calling file and line (a walk up the stack), thread, process and multiprocessing names. Several per
    read under load."""
    logging._srcfile = None  # documented there as the switch for the caller's file and line
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def worker_logging(level: str) -> dict:
    """uvicorn's logging config plus platehub's own lines (the root logger) and the credential filter on
    uvicorn's loggers (accesslog.py): applied by each worker process as it starts."""
    from uvicorn.config import LOGGING_CONFIG

    from platehub import accesslog

    config = {**LOGGING_CONFIG, "loggers": {k: dict(v) for k, v in LOGGING_CONFIG["loggers"].items()}}
    config["formatters"] = {**LOGGING_CONFIG["formatters"], "platehub": {"format": LOG_FORMAT}}
    config["handlers"] = {**LOGGING_CONFIG["handlers"], "platehub": {
        "formatter": "platehub", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}}
    config["filters"] = {"credentials": {"()": f"{accesslog.__name__}.{accesslog.CredentialFilter.__name__}"}}
    for name in accesslog.LOGGERS:
        config["loggers"][name] = {**config["loggers"].get(name, {}), "filters": ["credentials"]}
    config["root"] = {"handlers": ["platehub"], "level": level.upper()}
    return config


def serve_one(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from platehub import accesslog
    from platehub.app import create_app

    app = create_app(settings)
    # X-Forwarded-For/-Proto only from PLATEHUB_TRUSTED_PROXIES (uvicorn would trust loopback by default,
    # so anything on the host could pick its own client address and dodge the sign-in slow-down)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=args.log_level,
                            access_log=args.access_log, proxy_headers=bool(settings.trusted_proxies),
                            forwarded_allow_ips=list(settings.trusted_proxies) or None)
    accesslog.install()  # after uvicorn.Config set up its loggers: no credentials in log lines
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0 if server.started else 3  # uvicorn.run's exit status when the server could not start


def worker_app():
    """The app of one `--workers` process (each starts a new interpreter)."""
    from platehub.app import create_app

    lean_log_records()
    return create_app()


def serve_several(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from platehub.core.accounts import ensure_admin
    from platehub.core.store import Store

    store = Store.open(settings)  # migrated once, before the workers start
    try:
        if generated := ensure_admin(store):
            print(f"platehub: created user 'admin' with password: {generated}  (shown once)", flush=True)
    finally:
        store.close()
    os.environ.update(flags_environment(args))  # the workers' Settings.from_env sees the flags
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=args.workers, host=settings.host,
                port=settings.port, log_level=args.log_level, log_config=worker_logging(args.log_level),
                access_log=args.access_log, proxy_headers=bool(settings.trusted_proxies),
                forwarded_allow_ips=list(settings.trusted_proxies) or None,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args, host=args.host, port=args.port)
    if refusal := several_processes_refusal(settings, args.workers):
        print(f"platehub serve: {refusal}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    lean_log_records()
    return serve_several(args, settings) if args.workers > 1 else serve_one(args, settings)


def _processes(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: at least 1")
    return n


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = with_data(sub.add_parser("serve", help="run the server (all protocols on one port)",
                                 description="Run the platehub server.\n\n" + SEVERAL,
                                 epilog=settings_help(), formatter_class=argparse.RawDescriptionHelpFormatter))
    s.add_argument("--host", default=None, help=flag_help("--host"))
    s.add_argument("--port", type=int, default=None, help=flag_help("--port"))
    s.add_argument("--workers", type=_processes, default=1, metavar="N",
                   help="server processes on the port (default %(default)s: one process, SQLite or PostgreSQL); "
                        "N > 1 needs PLATEHUB_REDIS_URL and PostgreSQL. Not PLATEHUB_WORKERS (recognitions at once "
                        "in each process)")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="the server log's level (default %(default)s)")
    s.add_argument("--access-log", action="store_true", help="log every HTTP request")
    s.set_defaults(func=cmd_serve)
