"""The store on SQLite (WAL) and on a real PostgreSQL: migrations, idempotent reads, accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import store_on
from sqlalchemy import text

from platehub.core.read import Box, Read, normalize_plate
from platehub.core.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    s = store_on(request, tmp_path, ("decisions", "reads", "usage", "webhooks", "api_tokens", "users"))
    yield s
    s.close()


def make_read(plate: str, when: datetime, **kw) -> Read:
    return Read(plate=normalize_plate(plate), plate_raw=plate, protocol=kw.pop("protocol", "snapshot"),
                first_seen=when, box=Box(1, 2, 3, 4), candidates=((normalize_plate(plate), 0.9),), **kw)


def test_sqlite_uses_wal(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    with s.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_thread_waits_for_a_sync_only_for_what_no_sync_has_covered(store):
    """`Store.durable` before an acknowledgement: the group commit syncs each batch before it wakes its
    threads (their reads are durable when `add_one` returns: no second wait); a thread's own commit or
    image save still owes one sync, once."""
    syncs, real = [], store.durability.sync
    store.durability.sync = lambda: (syncs.append(1), real())[1]
    t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    store.images.save("durable-test", b"jpeg", t0)
    assert store.reads.add_one(make_read("AB1234CO", t0, source="gate")) and len(syncs) == 1
    store.durable()
    assert len(syncs) == 1  # the batch's sync started after the image save and the insert: covered
    store.devices.add("durable-cam", "allinone")  # a commit of this thread's own
    store.durable()
    store.durable()
    assert len(syncs) == 2
    store.images.save("durable-test-2", b"jpeg", t0)
    store.durable()
    assert len(syncs) == 3


def test_migrations_are_repeatable(store):
    from platehub.core.store.database import head_revision, migrate

    migrate(store.engine)  # a second run is a no-op
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()


def test_reads_round_trip_and_search(store):
    t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    a = make_read("ZG 9757-HG", t0, source="gate", raw={"k": "v"})
    b = make_read("AB1234CO", t0 + timedelta(minutes=5))
    assert store.reads.add([a, b]) == [a, b]
    got = store.reads.get(a.id)
    assert got == a
    assert [r.plate for r in store.reads.find()] == ["AB1234CO", "ZG9757HG"]  # newest first
    assert [r.plate for r in store.reads.find(plate="ZG*")] == ["ZG9757HG"]
    assert [r.plate for r in store.reads.find(since=t0 + timedelta(minutes=1))] == ["AB1234CO"]
    assert store.reads.count() == 2


def test_ingest_is_idempotent_on_the_senders_identity(store):
    t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    first = make_read("AB1234CO", t0, protocol="allinone", source_key="SN1:42")
    again = make_read("AB1234CO", t0, protocol="allinone", source_key="SN1:42")
    other = make_read("AB1234CO", t0, protocol="allinone", source_key="SN1:43")
    assert store.reads.add([first]) == [first]
    assert store.reads.add([again, other]) == [other]
    assert store.reads.count() == 2


def test_a_reads_first_gate_decision_is_stored_and_reported_new_the_second_refused(store):
    """GateKeeper publishes, alerts and opens via another camera only for a decision `add` reports new:
    on PostgreSQL an INSERT … ON CONFLICT DO NOTHING reports no row count (-1), so `add` must not
    rely on it (it did: no decision was ever published there)."""
    from platehub.core.store.decisions import Decision

    at = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    first = Decision("read-1", "CAM", "allow_list", "open", "allowed", "on the allow list", at)
    assert store.decisions.add(first) is True
    assert store.decisions.add(Decision("read-1", "CAM", "never", "closed", "never", "policy never", at)) is False
    assert store.decisions.get("read-1").action == "open"


def test_tokens(store):
    token, secret = store.tokens.create("client")
    assert store.tokens.verify(secret).id == token.id
    assert store.tokens.verify("nope") is None
    assert store.tokens.revoke("client")
    assert store.tokens.verify(secret) is None
    assert not store.tokens.revoke("client")


def test_users_hash_passwords(store):
    store.users.create("admin", "s3cret", is_admin=True)
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar()
    assert stored.startswith("$argon2id$") and "s3cret" not in stored
    assert store.users.verify("admin", "s3cret").is_admin
    assert store.users.verify("admin", "wrong") is None
    assert store.users.verify("ghost", "s3cret") is None


def test_sessions_follow_the_users_table(store):
    """Sessions live in the database (issue 11) and go with their user, on SQLite and PostgreSQL."""
    from platehub.core import accounts

    user = store.users.create("op", "op-password", rights=("LPR",))
    token, other = store.sessions.open(user), store.sessions.open(user)
    assert store.sessions.user(token) == user
    accounts.set_password(store, "op", "new-password")
    assert store.sessions.user(token) is None and store.sessions.user(other) is None
    token = store.sessions.open(user)
    assert store.users.remove("op")  # the foreign key takes the sessions along
    assert store.sessions.user(token) is None
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 0


def test_usage_counts_per_month(store):
    nov = datetime(2026, 11, 30, tzinfo=UTC)
    assert [store.usage.count_call(nov) for _ in range(3)] == [1, 2, 3]
    assert store.usage.count_call(datetime(2026, 12, 1, tzinfo=UTC)) == 1
    assert store.usage.calls(nov) == 3 and store.usage.total() == 4


def test_webhook_health(store):
    hook = store.webhooks.add("http://127.0.0.1:9/hook", with_image=True)
    for _ in range(2):
        updated = store.webhooks.record_failure(hook.id, "refused", disable_after=3)
    assert updated.enabled and updated.failures == 2
    store.webhooks.record_success(hook.id)
    assert store.webhooks.list()[0].failures == 0
    for _ in range(3):
        updated = store.webhooks.record_failure(hook.id, "refused", disable_after=3)
    assert not updated.enabled and store.webhooks.list(enabled_only=True) == []


def test_normalize_plate_drops_separators_control_and_zero_width_characters():
    assert normalize_plate("zg 9757-hg") == "ZG9757HG"
    assert normalize_plate("AB\x0012\u200b34\ufeff") == "AB1234"  # NUL once broke the FTS5 search
    assert normalize_plate("京A·12345") == "京A12345"
