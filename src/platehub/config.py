"""One settings object for the whole server, read from PLATEHUB_* environment variables.

CLI flags override the environment; apart from the one-time PLATEHUB_ADMIN_PASSWORD (read when the
admin user is created), nothing else reads PLATEHUB_* variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

IMAGE_RETENTION = ("none", "plate", "full")
METRICS = ("local", "open", "token", "off")  # see core/metrics.py
GATE_POLICIES = ("allow_list", "deny_list", "always", "never", "manual")  # see core/gate.py


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PLATEHUB_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in _env(name, "").split(",") if x.strip())


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite file inside data_dir
    host: str = "0.0.0.0"
    port: int = 8080
    # Snapshot API
    require_token: bool = False  # the on-premise SDK answers without a token by default
    upload_limit: int = 20 * 1024 * 1024  # bytes per request body; larger gets 413
    rate_limit: float = 0.0  # recognition calls per second per client; 0 = unlimited (as the SDK)
    max_calls: int = 0  # calls per calendar month; 0 = unlimited; over it the API answers 403
    upload_url_hosts: tuple[str, ...] = ()  # hosts upload_url may fetch from; empty = upload_url disabled
    upload_url_deadline: float = 15.0  # seconds one upload_url fetch may take in all (a slow server gets 400)
    image_retention: str = "full"  # none | plate | full
    # Retention (core/retention.py): 0 = keep for ever
    retain_reads_days: float = 0.0  # reads (with their decisions, images and finished parking visits)
    retain_images_days: float = 0.0  # image files (full and crop), by the day they were received
    retain_images_gb: float = 0.0  # disk cap of the image store; the oldest files go first
    retain_events_days: float = 0.0  # event log entries
    retain_keep_lists: tuple[str, ...] = ()  # lists (allow, deny) whose vehicles keep their newest read
    retain_interval: float = 3600.0  # seconds between runs of the retention job
    # Engine
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    ort_threads: int = 1  # intra-op threads per ONNX session
    # Webhooks
    webhook_timeout: float = 10.0
    webhook_retries: int = 5  # attempts per delivery before it counts as failed
    webhook_backoff: float = 1.0  # seconds, doubled after each failed attempt
    webhook_disable_after: int = 10  # consecutive failed deliveries before a target is disabled
    # Camera doors
    ff_path: str = "/ff_post.php"  # the FF camera's "Cloud URL" path
    allinone_plate_path: str = "/devicemanagement/php/plateresult.php"
    allinone_register_path: str = "/devicemanagement/php/receivedeviceinfo.php"
    allinone_io_path: str = "/devicemanagement/php/gio.php"
    allinone_serial_path: str = "/devicemanagement/php/serial.php"
    allinone_snapshot_path: str = "/devicemanagement/php/snapshot.php"
    comet_hold: float = 4.0  # seconds a comet poll is held when idle (below the camera's 5 s default timeout)
    offline_after: float = 90.0  # seconds without a heartbeat before a heartbeat device counts as offline
    pin_devices: bool = False  # pin each device to the network address it is first heard from (core.devices)
    gate_policy: str = "allow_list"  # core.gate.POLICIES: the policy of devices that have none of their own
    alert_unknown: bool = False  # alert for vehicles on no list (devices may override)
    match_edits: int = 1  # 0..2: character edits a list entry may differ from a read by (fuzzy match)
    match_lookalikes: bool = True  # 0/O/D/Q, 1/I/L, 8/B, 5/S, 2/Z, 6/G look alike when matching lists
    timezone: str = ""  # IANA name for schedules of list entries (site local time); "" = the machine's
    whitelist_sync: bool = False  # keep all-in-one cameras' own whitelists equal to the access lists (devices
    # may override); off by default: a camera's first sync clears the whitelist it held
    pass_timeout: float = 300.0  # seconds: FF events of one carID later than this start a new pass
    # MQTT (core/mqtt.py)
    mqtt_url: str = ""  # mqtt[s]://user:password@host:port/prefix; empty = no MQTT
    mqtt_commands: bool = False  # <prefix>/gate/<device>/open queues open_gate (by "mqtt")
    # TS-API
    site_name: str = "platehub"  # /api/info?siteName
    ws_ping: float = 30.0  # seconds without a message before a WebSocket ping; 0 = no pings
    # Monitoring
    metrics: str = "local"  # /metrics: local (loopback open, others need an API token) | open | token | off
    # Web security
    allowed_origins: tuple[str, ...] = ()  # other origins (scheme://host[:port]) whose pages may use the session
    # cookie (besides the server's own host); e.g. the console's public address behind a reverse proxy
    trusted_proxies: tuple[str, ...] = ()  # addresses/networks whose X-Forwarded-For/-Proto are believed;
    # empty = none (the client address is the TCP peer, so a forged header cannot dodge the sign-in slow-down)

    @property
    def zone(self) -> tzinfo | None:
        """The site's time zone (PLATEHUB_TIMEZONE); None = the machine's local zone."""
        return ZoneInfo(self.timezone) if self.timezone else None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'platehub.db').resolve()}"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        s = cls(
            data_dir=Path(_env("DATA", "data")),
            database_url=_env("DATABASE_URL", ""),
            host=_env("HOST", "0.0.0.0"),
            port=int(_env("PORT", "8080")),
            require_token=_env_bool("REQUIRE_TOKEN", False),
            upload_limit=int(_env("UPLOAD_LIMIT", str(20 * 1024 * 1024))),
            rate_limit=float(_env("RATE_LIMIT", "0")),
            max_calls=int(_env("MAX_CALLS", "0")),
            upload_url_hosts=_env_list("UPLOAD_URL_HOSTS"),
            upload_url_deadline=float(_env("UPLOAD_URL_DEADLINE", "15")),
            image_retention=_env("IMAGE_RETENTION", "full"),
            retain_reads_days=float(_env("RETAIN_READS_DAYS", "0")),
            retain_images_days=float(_env("RETAIN_IMAGES_DAYS", "0")),
            retain_images_gb=float(_env("RETAIN_IMAGES_GB", "0")),
            retain_events_days=float(_env("RETAIN_EVENTS_DAYS", "0")),
            retain_keep_lists=tuple(x.lower() for x in _env_list("RETAIN_KEEP_LISTS")),
            retain_interval=float(_env("RETAIN_INTERVAL", "3600")),
            workers=int(_env("WORKERS", str(max(1, os.cpu_count() or 1)))),
            ort_threads=int(_env("ORT_THREADS", "1")),
            webhook_timeout=float(_env("WEBHOOK_TIMEOUT", "10")),
            webhook_retries=int(_env("WEBHOOK_RETRIES", "5")),
            webhook_backoff=float(_env("WEBHOOK_BACKOFF", "1")),
            webhook_disable_after=int(_env("WEBHOOK_DISABLE_AFTER", "10")),
            ff_path=_env("FF_PATH", "/ff_post.php"),
            allinone_plate_path=_env("ALLINONE_PLATE_PATH", "/devicemanagement/php/plateresult.php"),
            allinone_register_path=_env("ALLINONE_REGISTER_PATH", "/devicemanagement/php/receivedeviceinfo.php"),
            allinone_io_path=_env("ALLINONE_IO_PATH", "/devicemanagement/php/gio.php"),
            allinone_serial_path=_env("ALLINONE_SERIAL_PATH", "/devicemanagement/php/serial.php"),
            allinone_snapshot_path=_env("ALLINONE_SNAPSHOT_PATH", "/devicemanagement/php/snapshot.php"),
            comet_hold=float(_env("COMET_HOLD", "4")),
            offline_after=float(_env("OFFLINE_AFTER", "90")),
            pin_devices=_env_bool("PIN_DEVICES", False),
            gate_policy=_env("GATE_POLICY", "") or {"open": "always", "closed": "allow_list"}.get(
                _env("GATE_DEFAULT", "closed"), "?"),
            alert_unknown=_env_bool("ALERT_UNKNOWN", False),
            match_edits=int(_env("MATCH_EDITS", "1")),
            match_lookalikes=_env_bool("MATCH_LOOKALIKES", True),
            timezone=_env("TIMEZONE", ""),
            whitelist_sync=_env_bool("WHITELIST_SYNC", False),
            pass_timeout=float(_env("PASS_TIMEOUT", "300")),
            mqtt_url=_env("MQTT_URL", "").strip(),
            mqtt_commands=_env_bool("MQTT_COMMANDS", False),
            site_name=_env("SITE_NAME", "").strip() or "platehub",
            ws_ping=float(_env("WS_PING", "30")),
            metrics=_env("METRICS", "local").strip().lower(),
            allowed_origins=tuple(o.rstrip("/").lower() for o in _env_list("ALLOWED_ORIGINS")),
            trusted_proxies=_env_list("TRUSTED_PROXIES"),
        )
        s = replace(s, **{k: v for k, v in overrides.items() if v is not None})
        if s.gate_policy not in GATE_POLICIES:
            raise ValueError(f"PLATEHUB_GATE_POLICY must be one of {', '.join(GATE_POLICIES)}")
        try:
            s.zone  # noqa: B018 - validates the name
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"PLATEHUB_TIMEZONE: unknown time zone {s.timezone!r}") from None
        if s.mqtt_url and not s.mqtt_url.startswith(("mqtt://", "mqtts://")):
            raise ValueError("PLATEHUB_MQTT_URL must look like mqtt://user:password@host:1883/prefix (or mqtts://)")
        if not 0 <= s.match_edits <= 2:
            raise ValueError("PLATEHUB_MATCH_EDITS must be 0, 1 or 2")
        if not s.upload_url_deadline > 0:
            raise ValueError("PLATEHUB_UPLOAD_URL_DEADLINE must be a number of seconds above 0")
        if s.metrics not in METRICS:
            raise ValueError(f"PLATEHUB_METRICS must be one of {', '.join(METRICS)}")
        for name in ("reads_days", "images_days", "images_gb", "events_days"):
            if not getattr(s, f"retain_{name}") >= 0:
                raise ValueError(f"PLATEHUB_RETAIN_{name.upper()} must be a number >= 0 (0: keep for ever)")
        if not s.retain_interval > 0:
            raise ValueError("PLATEHUB_RETAIN_INTERVAL must be a number of seconds above 0")
        if bad := set(s.retain_keep_lists) - {"allow", "deny"}:
            raise ValueError(f"PLATEHUB_RETAIN_KEEP_LISTS: unknown list {', '.join(sorted(bad))} (allow, deny)")
        if s.image_retention not in IMAGE_RETENTION:
            raise ValueError(f"PLATEHUB_IMAGE_RETENTION must be one of {IMAGE_RETENTION}")
        return s
