"""`platehub serve`: the server, all protocols on one port (app.py)."""

from __future__ import annotations

import argparse
import logging

from platehub.cli.common import settings_from, with_data
from platehub.config import flag_help, settings_help


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from platehub import accesslog
    from platehub.app import create_app

    settings = settings_from(args, host=args.host, port=args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = with_data(sub.add_parser("serve", help="run the server (all protocols on one port)",
                                 description="Run the platehub server.", epilog=settings_help(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter))
    s.add_argument("--host", default=None, help=flag_help("--host"))
    s.add_argument("--port", type=int, default=None, help=flag_help("--port"))
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="the server log's level (default %(default)s)")
    s.add_argument("--access-log", action="store_true", help="log every HTTP request")
    s.set_defaults(func=cmd_serve)
