"""The leader lease (core/leader.py) on a real Redis: of three processes one leads; when it stops another
takes over within the lease; a Redis restart leaves one leader; without Redis the one process leads."""

from __future__ import annotations

import asyncio

from helpers import free_port, until

from platehub.core.leader import Leader
from platehub.simulator.daemons import RedisServer


class Jobs:
    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    async def start(self) -> None:
        assert not self.running
        self.running, self.starts = True, self.starts + 1

    async def stop(self) -> None:
        assert self.running
        self.running = False


async def test_one_leader_of_three_and_a_successor_when_it_goes():
    redis = RedisServer(free_port()).start()
    leaders = [Leader(redis.url, ttl=1.0, every=0.2) for _ in range(3)]
    jobs = [Jobs() for _ in leaders]
    try:
        for leader, job in zip(leaders, jobs, strict=True):
            await leader.start(job.start, job.stop)
        await until(lambda: sum(j.running for j in jobs) == 1)
        await asyncio.sleep(1.0)  # renewals keep it: still exactly one, the same
        first = next(i for i, j in enumerate(jobs) if j.running)
        assert sum(j.running for j in jobs) == 1 and jobs[first].starts == 1

        await leaders[first].stop()  # hands the lease back: another takes it at its next try
        assert not jobs[first].running
        await until(lambda: sum(j.running for j in jobs) == 1, timeout=2.0)
        second = next(i for i, j in enumerate(jobs) if j.running)
        assert second != first

        redis.stop()  # Redis away: the leader keeps leading, nobody else is elected
        await asyncio.sleep(0.6)
        assert [j.running for j in jobs] == [i == second for i in range(3)]
        redis.start()  # back, empty: the lease is taken again, by one
        await asyncio.sleep(1.5)
        assert sum(j.running for j in jobs) == 1
    finally:
        for leader in leaders:
            await leader.stop()
        redis.close()
    assert not any(j.running for j in jobs)


async def test_without_redis_the_process_leads_until_it_stops():
    job = Jobs()
    leader = Leader()
    await leader.start(job.start, job.stop)
    assert job.running and leader.leading
    await leader.stop()
    assert not job.running
