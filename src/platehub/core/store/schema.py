"""Table definitions the store queries against (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

reads = Table(
    "reads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("event_id", String(32)),
    Column("protocol", String(32), nullable=False),
    Column("source", String(128)),
    Column("source_key", String(255)),
    Column("plate", String(32), nullable=False),
    Column("plate_raw", String(64), nullable=False),
    Column("score", Float),
    Column("dscore", Float),
    Column("box", JSON),
    Column("region", String(16)),
    Column("region_score", Float),
    Column("vehicle_type", String(32)),
    Column("vehicle_score", Float),
    Column("vehicle_box", JSON),
    Column("candidates", JSON),
    Column("direction", String(16)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("image_full", String(255)),
    Column("image_plate", String(255)),
    Column("raw", JSON),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("rights", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# signed-in sessions (TS-API /api/auth, the console): in the database, so that every process sees a
# sign-out, a password change or a removed user at once; the cookie's token is kept only as a hash
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Text, nullable=False),
    Column("with_image", Boolean, nullable=False, default=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("events", String(16)),  # recognition (NULL) | alert
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

usage = Table(
    "usage",
    metadata,
    Column("period", String(7), primary_key=True),  # YYYY-MM
    Column("calls", Integer, nullable=False, default=0),
)

devices = Table(
    "devices",
    metadata,
    Column("code", String(128), primary_key=True),  # FF sensor id, all-in-one serial number, push src
    Column("protocol", String(32), nullable=False),
    Column("name", String(255)),
    Column("address", String(255)),
    Column("channels", Integer),
    Column("heartbeat", Boolean, nullable=False, default=False),  # sends heartbeats: can go offline
    Column("online", Boolean, nullable=False, default=True),
    Column("gate_policy", String(16)),  # core.gate.POLICIES; NULL = the server's (PLATEHUB_GATE_POLICY)
    Column("alert_unknown", Boolean),  # alert for vehicles on no list; NULL = the server's setting
    Column("gate_device", String(128)),  # the all-in-one camera that opens this source's gate (open_gate)
    Column("lot_entrance", Integer),  # the parking lot a read of this source enters (TS-API parkingLot)
    Column("lot_exit", Integer),  # the parking lot a read of this source leaves
    Column("meta", JSON),
    Column("peer_address", String(64)),  # the network address its messages last came from (accepted ones)
    Column("pinned_address", String(64)),  # only messages from this address act for it; NULL = any
    Column("secret_hash", String(160)),  # core.devices.hash_secret of its registration password; NULL = none
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON),
    Column("status", String(16), nullable=False),  # pending | delivered | cancelled
    Column("via", String(16)),  # reply | comet
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("delivered_to", String(64)),  # the network address the reply carrying it went to
)

event_log = Table(
    "event_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("type", String(32), nullable=False),
    Column("code", String(64), nullable=False),
    Column("user", String(64)),
    Column("source", String(128)),
    Column("details", JSON),
)

access_entries = Table(
    "access_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list", String(8), nullable=False),  # allow | deny
    Column("plate", String(32), nullable=False),  # normalised
    Column("plate_key", String(32), nullable=False),  # look-alike canonical form of `plate`
    Column("valid_from", DateTime(timezone=True)),
    Column("valid_until", DateTime(timezone=True)),
    Column("schedule", JSON),  # weekly windows in site local time; NULL = always
    Column("tag", String(64)),
    Column("comment", Text),
    Column("devices", JSON),  # device codes the entry applies to; NULL = every device
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("list", "plate", name="uq_access_list_plate"),
)

access_version = Table(
    "access_version",
    metadata,
    Column("name", String(32), primary_key=True),  # "lists"
    Column("value", Integer, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("read_id", String(32), primary_key=True),
    Column("device", String(128)),
    Column("policy", String(16), nullable=False),
    Column("action", String(8), nullable=False),  # open | closed
    Column("reason", String(32), nullable=False),
    Column("list", String(8)),
    Column("entry_id", Integer),
    Column("entry_plate", String(32)),
    Column("distance", Integer),
    Column("alert", String(16)),  # deny | unknown | NULL
    Column("detail", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

camera_lists = Table(
    "camera_lists",
    metadata,
    Column("device", String(128), primary_key=True),
    Column("plate", String(32), primary_key=True),
    Column("need_alarm", Integer, nullable=False),
    Column("enable_time", String(19)),
    Column("overdue_time", String(19)),
    Column("synced_at", DateTime(timezone=True), nullable=False),
)

camera_sync = Table(
    "camera_sync",
    metadata,
    Column("device", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_batch", JSON),
    Column("last_batch_at", DateTime(timezone=True)),
)

parking_lots = Table(
    "parking_lots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("type", String(8), nullable=False),  # counter | group
    Column("max_count", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Column("members", JSON),  # group: counter ids
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("history_since", DateTime(timezone=True)),  # occupancy_changes are complete from then on
)

# each change of a counter's count (core/store/occupancy.py)
occupancy_changes = Table(
    "occupancy_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lot_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("cause", String(8), nullable=False),  # entry | exit | manual
)

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lot_id", Integer, nullable=False),
    Column("plate", String(32), nullable=False),
    Column("status", String(12), nullable=False),  # open | closed | exit_only
    Column("entry_read", String(32)),
    Column("exit_read", String(32)),
    Column("exit_plate", String(32)),
    Column("distance", Integer),
    Column("entered_at", DateTime(timezone=True)),
    Column("exited_at", DateTime(timezone=True)),
)

# video channels platehub reads plates from itself (platehub.video; video/channels.py checks the fields)
channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("url", String(2048), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("sample_rate", Float, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("zones", JSON),
    Column("masks", JSON),
    Column("min_plate_width", Integer, nullable=False),
    Column("text_formats", JSON),
    Column("direction", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("recording", String(16), nullable=False, server_default="off"),  # off | continuous | event (0011)
)

server_keys = Table(  # secrets shared by every process of a site (core/store/keys.py, migration 0013)
    "server_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

# deliveries owed to webhook targets (core/store/outbox.py, migration 0014)
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(32), nullable=False),  # Idempotency-Key: the same on every attempt
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # recognition | alert
    Column("body", Text, nullable=False),  # the JSON posted
    Column("image", LargeBinary),  # with-image targets: the uploaded image
    Column("filename", String(255)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
)
