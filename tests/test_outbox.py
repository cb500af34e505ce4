"""The webhook outbox (core/store/outbox.py) on SQLite and PostgreSQL: rows per target, claims that two
claimers never share, leases that end, retries and giving up."""

from __future__ import annotations

import json
import threading
import time

import pytest
from helpers import store_on

from platehub.core.outbox import Outbox


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    s = store_on(request, tmp_path, wipe=("webhook_outbox", "webhooks"))
    yield s
    s.close()


def outbox_of(store) -> Outbox:
    return Outbox(store.outbox, {"recognition": lambda event, hook: {"event": event, "hook": hook.id},
                                 "alert": lambda event, hook: {"alert": event}})


def test_an_event_stores_one_row_per_enabled_target_of_its_kind(store):
    data_only = store.webhooks.add("http://127.0.0.1:9/a")
    with_image = store.webhooks.add("http://127.0.0.1:9/b", with_image=True)
    store.webhooks.add("http://127.0.0.1:9/alerts", events="alert")
    off = store.webhooks.add("http://127.0.0.1:9/off")
    store.webhooks.record_failure(off.id, "refused", disable_after=1)
    woken = []
    outbox = outbox_of(store)
    outbox.listen(lambda: woken.append(1))
    assert outbox.add("recognition", "r1", b"jpeg", "car.jpg") == 2 and woken == [1]
    rows = store.outbox.claim("p1", 10, lease=30)
    assert [(r.webhook_id, json.loads(r.body), r.image, r.filename, r.attempts) for r in rows] == [
        (data_only.id, {"event": "r1", "hook": data_only.id}, None, None, 0),
        (with_image.id, {"event": "r1", "hook": with_image.id}, b"jpeg", "car.jpg", 0)]
    assert len({r.key for r in rows}) == 2 and store.outbox.pending() == 2
    assert outbox.add("alert", "deny") == 1 and store.outbox.pending() == 3


def test_claimed_rows_are_nobodys_else_until_the_lease_ends(store):
    store.webhooks.add("http://127.0.0.1:9/a")
    outbox = outbox_of(store)
    for i in range(3):
        outbox.add("recognition", i)
    first = store.outbox.claim("p1", 2, lease=0.5)
    assert [json.loads(r.body)["event"] for r in first] == [0, 1]  # oldest first
    assert [json.loads(r.body)["event"] for r in store.outbox.claim("p2", 10, lease=30)] == [2]
    assert store.outbox.claim("p3", 10, lease=30) == []
    time.sleep(0.6)  # p1 died: its lease ends
    assert [r.id for r in store.outbox.claim("p3", 10, lease=30)] == [r.id for r in first]
    assert store.outbox.release("p3") == 2
    assert len(store.outbox.claim("p4", 10, lease=30)) == 2  # released: free at once


def test_concurrent_claims_share_no_row(store, tmp_path):
    store.webhooks.add("http://127.0.0.1:9/a")
    outbox = outbox_of(store)
    for i in range(200):
        outbox.add("recognition", i)
    got: dict[str, list[int]] = {f"p{n}": [] for n in range(4)}

    def claimer(owner: str) -> None:
        while rows := store.outbox.claim(owner, 5, lease=30):
            got[owner] += [r.id for r in rows]

    threads = [threading.Thread(target=claimer, args=(owner,)) for owner in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = [i for ids in got.values() for i in ids]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    assert sum(1 for ids in got.values() if ids) >= 2  # they did claim at the same time


def test_retry_counts_the_attempt_and_frees_the_row_when_due(store):
    store.webhooks.add("http://127.0.0.1:9/a")
    outbox_of(store).add("recognition", "r")
    (row,) = store.outbox.claim("p1", 10, lease=30)
    store.outbox.retry(row.id, 1, delay=0.3, error="HTTP 500")
    assert store.outbox.claim("p2", 10, lease=30) == []  # not due yet
    time.sleep(0.35)
    (again,) = store.outbox.claim("p2", 10, lease=30)
    assert (again.id, again.key, again.attempts) == (row.id, row.key, 1)
    store.outbox.done(again.id)
    assert store.outbox.pending() == 0


def test_giving_up_counts_a_failure_and_a_disabled_target_loses_its_rows(store):
    hook = store.webhooks.add("http://127.0.0.1:9/a")
    outbox = outbox_of(store)
    for i in range(3):
        outbox.add("recognition", i)
    first, second, _ = store.outbox.claim("p1", 10, lease=30)
    assert store.outbox.give_up(first.id, hook.id, "HTTP 500", disable_after=2).failures == 1
    assert store.outbox.pending() == 2
    after = store.outbox.give_up(second.id, hook.id, "HTTP 500", disable_after=2)
    assert not after.enabled and after.last_error == "HTTP 500"
    assert store.outbox.pending() == 0


def test_removing_a_target_removes_what_it_was_owed(store):
    hook = store.webhooks.add("http://127.0.0.1:9/a")
    outbox_of(store).add("recognition", "r")
    assert store.webhooks.remove(hook.id)
    assert store.outbox.pending() == 0
