"""Table definitions the store queries against (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
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
    Column("gate_default", String(8)),  # open | closed | NULL (the server's default)
    Column("meta", JSON),
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
