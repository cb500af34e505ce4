"""One settings object for the whole server, read from PLATEHUB_* environment variables.

Every variable is declared once, here: a `Settings` field (its type and default) with `doc(help, …)` as
its metadata (its help and allowed values), or a `Setting` of its own for the two read where they are
used (`read_env(ADMIN_PASSWORD)`, `read_env(CHROMIUM)`). `SETTINGS` lists them all; `Settings.from_env`,
`platehub serve --help` (`settings_help`) and the README's table (`settings_markdown`, compared by
tests/test_settings.py) all come from it. CLI flags override the environment.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

IMAGE_RETENTION = ("none", "plate", "full")
METRICS = ("local", "open", "token", "off")  # see core/metrics.py
GATE_POLICIES = ("allow_list", "deny_list", "always", "never", "manual")  # see core/gate.py
KEEP_LISTS = ("allow", "deny")
PREFIX = "PLATEHUB_"
TRUE = ("1", "true", "yes", "on")  # any other value of a yes/no setting is "no"
KIND_WORDS = {int: "whole number", float: "number", Path: "path", tuple: "comma-separated list"}


@dataclass(frozen=True)
class Setting:
    """One PLATEHUB_* variable: what it means and what it may hold."""

    help: str  # one line of Markdown: the README's "meaning", and `platehub serve --help`
    env: str = ""  # the variable is PLATEHUB_<env>; "" = the Settings field's name, upper-case
    kind: type = str  # str, int, float, bool, Path, or tuple (comma-separated, blanks dropped)
    default: Any = None  # None: computed (Settings' default_factory)
    shown: str = ""  # the default in Markdown, when its value alone says too little
    values: str = ""  # what `check` allows, in words ("" = said by kind, bounds and choices)
    low: float | None = None  # the value must be at least this
    high: float | None = None  # ... at most this
    above: float | None = None  # ... greater than this
    choices: tuple[str, ...] = ()  # the allowed values (of each item, for a list)
    clean: Callable[[Any], Any] | None = None  # normalises the parsed value (each item, for a list)
    blank_is_default: bool = False  # an empty value counts as unset
    check: Callable[[Any], str | None] | None = None  # another rule: the complaint, or None
    flag: str = ""  # the `platehub serve` flag that overrides it
    attribute: str = ""  # the Settings field; "" = read where it is used, with `read_env`

    @property
    def var(self) -> str:
        return PREFIX + self.env

    @property
    def allowed(self) -> str:
        """The values it may take, in Markdown (the README's "values")."""
        if self.values:
            return self.values
        if self.kind is bool:
            return "`1` (or `true`, `yes`, `on`) or `0`"
        if self.choices:
            listed = ", ".join(f"`{c}`" for c in self.choices)
            return f"comma-separated: {listed}" if self.kind is tuple else listed
        words = KIND_WORDS.get(self.kind, "text")
        if self.low is not None and self.high is not None:
            return f"{words}, {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{words} ≥ {self.low:g}"
        if self.above is not None:
            return f"{words} > {self.above:g}"
        return words

    @property
    def default_text(self) -> str:
        """The default in Markdown (the README's "default")."""
        if self.shown:
            return self.shown
        value = self.default
        if isinstance(value, bool):
            return f"`{int(value)}`"
        if isinstance(value, float):
            return f"`{value:g}`"
        return f"`{value}`" if value not in ("", ()) else "empty"

    def parse(self, raw: str) -> Any:
        """The value of `raw` (the variable's text); ValueError naming the variable when it cannot be one."""
        try:
            if self.kind is bool:
                return raw.strip().lower() in TRUE
            if self.kind is tuple:
                items = (x.strip() for x in raw.split(","))
                return tuple(self.clean(x) if self.clean else x for x in items if x)
            value = self.kind(raw)
        except ValueError:
            raise ValueError(self.refusal(raw)) from None
        return self.clean(value) if self.clean else value

    def complaint(self, value: Any) -> str | None:
        """What is wrong with `value` (parsed), naming the variable and what it allows; None if nothing."""
        items = value if self.kind is tuple else (value,)
        wrong = ((self.choices and any(x not in self.choices for x in items))
                 or (self.low is not None and not value >= self.low)
                 or (self.high is not None and not value <= self.high)
                 or (self.above is not None and not value > self.above))
        why = self.check(value) if self.check and not wrong else None
        return self.refusal(value, why) if wrong or why else None

    def refusal(self, value: Any, why: str = "") -> str:
        """The error for a bad value: the variable, the value, and what it allows."""
        shown = ",".join(value) if isinstance(value, tuple) else f"{value:g}" if isinstance(value, float) else value
        return f"{self.var}={str(shown)!r}: {why or 'not allowed'} (allowed: {_plain(self.allowed)})"


@dataclass(frozen=True)
class Obsolete:
    """A variable that was renamed: still read when its successor is unset (listed in the README and --help)."""

    env: str
    replaced_by: str  # the env of its successor
    values: dict[str, str]  # old value → the successor's

    def translate(self, raw: str) -> str:
        if raw not in self.values:
            old = ", ".join(self.values)
            raise ValueError(f"{PREFIX}{self.env}={raw!r}: not allowed (allowed: {old}; it is obsolete: "
                             f"set {PREFIX}{self.replaced_by} instead)")
        return self.values[raw]


OBSOLETE = (Obsolete("GATE_DEFAULT", "GATE_POLICY", {"open": "always", "closed": "allow_list"}),)


def doc(help: str, **rules: Any) -> dict[str, Setting]:
    """The metadata of a Settings field: its variable's help and rules (see `Setting`)."""
    return {"setting": Setting(help, **rules)}


def _plain(text: Any) -> Any:
    return text.replace("`", "") if isinstance(text, str) else text


def _zone(name: str) -> tzinfo | None:
    return ZoneInfo(name) if name else None


def _zone_complaint(name: str) -> str | None:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "unknown time zone"
    return None


def _mqtt_complaint(url: str) -> str | None:
    return "not an MQTT URL" if url and not url.startswith(("mqtt://", "mqtts://")) else None


@dataclass(frozen=True)
class Settings:
    """The server's settings; each field's metadata (`doc`) says its variable's help and rules."""

    data_dir: Path = field(default=Path("data"), metadata=doc(
        "data directory: SQLite database and images", env="DATA", shown="`./data`", flag="--data"))
    database_url: str = field(default="", metadata=doc(
        "e.g. `postgresql://user:pass@host/db` (psycopg 3)", shown="SQLite in the data dir", flag="--database-url"))
    redis_url: str = field(default="", metadata=doc(
        "`redis://host:6379/0`: several platehub processes share sessions' slow-down, rate limits, live events, "
        "comet wake-ups and one leader through this Redis (needs PostgreSQL); empty = one process",
        clean=str.strip, check=lambda u: "not a Redis URL" if u and not u.startswith(("redis://", "rediss://",
                                                                                   "unix://")) else None))
    host: str = field(default="0.0.0.0", metadata=doc("address to listen on", flag="--host"))
    port: int = field(default=8080, metadata=doc("port to listen on (8080: the Snapshot SDK's)", flag="--port"))
    # Snapshot API
    require_token: bool = field(default=False, metadata=doc(
        "`1`: `/v1/plate-reader/` needs `Authorization: Token …` (403 otherwise); `0`: it answers without a "
        "token, as the on-premise SDK"))
    upload_limit: int = field(default=20 * 1024 * 1024, metadata=doc("request body limit in bytes (413 above)"))
    rate_limit: float = field(default=0.0, metadata=doc(
        "recognition calls per second per client (429 above); 0 = unlimited, as the SDK"))
    max_calls: int = field(default=0, metadata=doc(
        "calls per calendar month (403 above); 0 = unlimited (`max_calls` and `total_calls` then say 2147483647: "
        "clients compute `max_calls - calls`)"))
    upload_url_hosts: tuple[str, ...] = field(default=(), metadata=doc(
        "hosts `upload_url` may fetch from (`.example.com` for a domain); empty = `upload_url` off"))
    upload_url_deadline: float = field(default=15.0, metadata=doc(
        "seconds one `upload_url` fetch may take in all (connect, headers, body); slower gets 400", above=0))
    image_retention: str = field(default="full", metadata=doc(
        "`full` (the uploaded image), `plate` (plate crops) or `none` (no image stored)", choices=IMAGE_RETENTION))
    # Retention (core/retention.py): 0 = keep for ever
    retain_reads_days: float = field(default=0.0, metadata=doc(
        "days reads are kept (with their decisions, images, finished parking visits and the lots' occupancy "
        "history); 0 = for ever", low=0))
    retain_images_days: float = field(default=0.0, metadata=doc(
        "days image files (full and crop) are kept, by the day they were received; 0 = for ever", low=0))
    retain_images_gb: float = field(default=0.0, metadata=doc(
        "disk cap of the image store in GB (oldest files removed first); 0 = none", low=0))
    retain_events_days: float = field(default=0.0, metadata=doc(
        "days event log entries are kept; 0 = for ever", low=0))
    retain_recordings_days: float = field(default=0.0, metadata=doc(
        "days video recordings are kept (video/recordings.py); 0 = for ever", low=0))
    retain_recordings_gb: float = field(default=0.0, metadata=doc(
        "disk cap of the video recordings in GB, over all channels (oldest segments removed first); 0 = none",
        low=0))
    retain_keep_lists: tuple[str, ...] = field(default=(), metadata=doc(
        "lists whose vehicles keep their newest read whatever its age", choices=KEEP_LISTS, clean=str.lower))
    retain_interval: float = field(default=3600.0, metadata=doc(
        "seconds between runs of the retention job", above=0))
    # Engine
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1), metadata=doc(
        "recognitions running at once", shown="CPU cores"))
    ort_threads: int = field(default=1, metadata=doc("ONNX Runtime intra-op threads per model session"))
    # Video recording (video/recorder.py)
    record_segment: float = field(default=60.0, metadata=doc(
        "seconds of video per recording segment file (cut at the camera's next key frame)", low=1, high=3600))
    ffmpeg: str = field(default="ffmpeg", metadata=doc(
        "the `ffmpeg` program that records channels (Debian package ffmpeg)", clean=str.strip,
        blank_is_default=True))
    # Webhooks
    webhook_timeout: float = field(default=10.0, metadata=doc("seconds one delivery attempt may take"))
    webhook_retries: int = field(default=5, metadata=doc("attempts per delivery before it counts as failed"))
    webhook_backoff: float = field(default=1.0, metadata=doc(
        "seconds before the second attempt, doubled after each failed one"))
    webhook_disable_after: int = field(default=10, metadata=doc(
        "failed deliveries in a row before a target is disabled (logged; `/info/` shows admins which)"))
    # Camera doors (README "Cameras")
    ff_path: str = field(default="/ff_post.php", metadata=doc(
        "FF JSON camera: the receiving path (the camera's \"Cloud URL\")"))
    allinone_plate_path: str = field(default="/devicemanagement/php/plateresult.php", metadata=doc(
        "all-in-one camera: plate results"))
    allinone_register_path: str = field(default="/devicemanagement/php/receivedeviceinfo.php", metadata=doc(
        "all-in-one camera: registration (heartbeat / comet poll)"))
    allinone_io_path: str = field(default="/devicemanagement/php/gio.php", metadata=doc(
        "all-in-one camera: IO trigger"))
    allinone_serial_path: str = field(default="/devicemanagement/php/serial.php", metadata=doc(
        "all-in-one camera: serial data"))
    allinone_snapshot_path: str = field(default="/devicemanagement/php/snapshot.php", metadata=doc(
        "all-in-one camera: screenshot"))
    comet_hold: float = field(default=4.0, metadata=doc(
        "seconds an idle comet poll is held (keep it under the camera's HTTP timeout, 5 s by default)"))
    offline_after: float = field(default=90.0, metadata=doc(
        "seconds without a heartbeat before a camera counts as offline"))
    pin_devices: bool = field(default=False, metadata=doc(
        "`1`: pin each device to the network address it is first heard from (see \"Who speaks for a camera\")"))
    gate_policy: str = field(default="allow_list", metadata=doc(
        "gate policy of devices without their own", choices=GATE_POLICIES, blank_is_default=True))
    alert_unknown: bool = field(default=False, metadata=doc(
        "`1`: alert for vehicles on no list (devices may override)"))
    match_edits: int = field(default=1, metadata=doc(
        "character edits a list entry may differ from a read by (fuzzy match)", low=0, high=2))
    match_lookalikes: bool = field(default=True, metadata=doc(
        "look-alike characters (0/O/D/Q, 1/I/L, 8/B, 5/S, 2/Z, 6/G) match each other when matching lists"))
    timezone: str = field(default="", metadata=doc(
        "site time zone for schedules of list entries and the cameras' whitelist times", shown="the machine's",
        values="IANA time zone name, e.g. `Europe/Berlin`", check=_zone_complaint))
    whitelist_sync: bool = field(default=False, metadata=doc(
        "`1`: keep every all-in-one camera's own whitelist equal to the lists (devices may override); off by "
        "default: a camera's first sync clears the whitelist it held"))
    pass_timeout: float = field(default=300.0, metadata=doc(
        "seconds after which an FF `carID` seen again starts a new read"))
    # MQTT (core/mqtt.py)
    mqtt_url: str = field(default="", metadata=doc(
        "publish to this broker (see \"MQTT and Home Assistant\"); empty = off",
        values="`mqtt[s]://user:password@host:port/prefix`", clean=str.strip, check=_mqtt_complaint))
    mqtt_commands: bool = field(default=False, metadata=doc(
        "`1`: the Home Assistant gate button (`<prefix>/gate/<code>/open`) queues `open_gate` (by \"mqtt\")"))
    # TS-API
    site_name: str = field(default="platehub", metadata=doc(
        "TS-API `siteName` (`/api/info`)", clean=str.strip, blank_is_default=True))
    ws_ping: float = field(default=30.0, metadata=doc(
        "seconds without a message before a TS-API WebSocket ping; 0 = no pings"))
    # Monitoring (core/metrics.py)
    metrics: str = field(default="local", metadata=doc(
        "who may read `/metrics`: `local` (loopback without a token, other clients with an API token), `token` "
        "(every client needs one), `open` (anyone), `off` (no `/metrics`, nothing counted)",
        choices=METRICS, clean=lambda v: v.strip().lower()))
    # Web security
    allowed_origins: tuple[str, ...] = field(default=(), metadata=doc(
        "origins (`https://lpr.example.com`) whose pages may use the session cookie besides the server's own "
        "host, e.g. behind a proxy that rewrites `Host`", clean=lambda o: o.rstrip("/").lower()))
    trusted_proxies: tuple[str, ...] = field(default=(), metadata=doc(
        "addresses/networks of reverse proxies whose `X-Forwarded-For`/`-Proto` are believed (e.g. `127.0.0.1`); "
        "empty = none: the client is the TCP peer, so a forged header cannot dodge the sign-in slow-down"))

    @property
    def zone(self) -> tzinfo | None:
        """The site's time zone (PLATEHUB_TIMEZONE); None = the machine's local zone."""
        return _zone(self.timezone)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'platehub.db').resolve()}"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """The environment's settings, then `overrides` (CLI flags; None = not given); ValueError naming the
        variable (and what it allows) for a bad value."""
        values = {s.attribute: v for s in FIELDS if (v := _environ(s)) is not MISSING}
        for old in OBSOLETE:
            new = next(s for s in FIELDS if s.env == old.replaced_by)
            if new.attribute not in values and (raw := os.environ.get(PREFIX + old.env)) is not None:
                values[new.attribute] = old.translate(raw)
        values.update((k, v) for k, v in overrides.items() if v is not None)
        settings = cls(**values)
        for s in FIELDS:
            if complaint := s.complaint(getattr(settings, s.attribute)):
                raise ValueError(complaint)
        return settings


ADMIN_PASSWORD = Setting("password of the `admin` user created on first start (read only then)",
                         env="ADMIN_PASSWORD", default="", shown="generated, printed once")
CHROMIUM = Setting("headless Chromium of the browser tests, the screenshot tool and the console benchmark "
                   "(not the server)", env="CHROMIUM", default="/usr/bin/chromium")


def _declared(f: Field, hint: Any) -> Setting:
    s: Setting = f.metadata["setting"]
    return replace(s, env=s.env or f.name.upper(), kind=get_origin(hint) or hint, attribute=f.name,
                   default=None if f.default is MISSING else f.default)


# the variables of `Settings`, in its order
FIELDS = tuple(_declared(f, get_type_hints(Settings)[f.name]) for f in fields(Settings))
SETTINGS = (*FIELDS, ADMIN_PASSWORD, CHROMIUM)  # every PLATEHUB_* variable


def _environ(s: Setting) -> Any:
    """The variable's value, or MISSING when it is unset (or blank, where blank means the default)."""
    raw = os.environ.get(s.var)
    if raw is None:
        return MISSING
    value = s.parse(raw)
    return MISSING if s.blank_is_default and value == "" else value


def read_env(s: Setting) -> Any:
    """A variable read where it is used (ADMIN_PASSWORD, CHROMIUM): its value, else its default."""
    value = _environ(s)
    if value is MISSING:
        return s.default
    if complaint := s.complaint(value):
        raise ValueError(complaint)
    return value


def settings_help(width: int = 100) -> str:
    """The variables for `platehub serve --help` (plain text)."""
    flags = ", ".join(s.flag for s in SETTINGS if s.flag)
    lines = [f"environment ({flags} override theirs):"]
    for s in SETTINGS:
        lines.append(f"  {s.var}  default {_plain(s.default_text)}; {_plain(s.allowed)}")
        lines += textwrap.wrap(_plain(s.help), width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    lines += [f"  {PREFIX}{o.env}: obsolete, read when {PREFIX}{o.replaced_by} is unset ("
              + ", ".join(f"{k} = {v}" for k, v in o.values.items()) + ")" for o in OBSOLETE]
    return "\n".join(lines)


def flag_help(flag: str) -> str:
    """The help of a `platehub` flag that overrides a setting (`--data`, `--port` …): the setting's own help,
    its variable and its default, so that the flag's help cannot drift from the declaration."""
    s = next(s for s in SETTINGS if s.flag == flag)
    return f"{_plain(s.help)} (default: ${s.var}, else {_plain(s.default_text)})"


def settings_markdown() -> str:
    """The README's table of variables (tests/test_settings.py checks that the README has it as is)."""
    rows = ["| variable | default | values | meaning |", "|---|---|---|---|"]
    rows += [f"| `{s.var}` | {s.default_text} | {s.allowed} | {s.help} |" for s in SETTINGS]
    rows += ["", *(f"Obsolete: `{PREFIX}{o.env}`, read only when `{PREFIX}{o.replaced_by}` is unset ("
                   + ", ".join(f"`{k}` = `{v}`" for k, v in o.values.items()) + ")." for o in OBSOLETE)]
    return "\n".join(rows)
