"""The group-commit helper on its own (pure asyncio, a fake statement)."""

from __future__ import annotations

import asyncio

import pytest

from collector.storage.coalesce import Coalescer


def test_alone_when_idle_together_when_busy_one_row_per_key_in_order():
    statements: list[list[tuple]] = []

    async def run_batch(rows):
        statements.append(list(rows))
        await asyncio.sleep(0.01)  # the database is busy meanwhile
        return {r[0] for r in rows if r[1] != "refused"}

    async def main():
        c = Coalescer(run_batch, key=lambda r: r[0], max_batch=3, max_inflight=1)
        first = await c.submit(("a", 0))  # idle: written at once, alone
        jobs = [c.submit(("a", 1)), c.submit(("b", 1)), c.submit(("a", 2)), c.submit(("c", 1)),
                c.submit(("d", "refused")), c.submit(("e", 1))]
        return first, await asyncio.gather(*jobs)

    first, results = asyncio.run(main())
    assert first is True and statements[0] == [("a", 0)]
    assert results == [True, True, True, True, False, True]
    later = statements[1:]
    assert all(len(s) <= 3 and len({r[0] for r in s}) == len(s) for s in later)  # bounded, one row per key
    a_rows = [r for s in later for r in s if r[0] == "a"]
    assert a_rows == [("a", 1), ("a", 2)]  # a key's rows go out in arrival order
    assert sum(len(s) for s in later) == 6 and len(later) < 6  # some were written together


def test_a_failed_statement_fails_exactly_its_rows():
    async def run_batch(rows):
        await asyncio.sleep(0)
        if any(r[1] == "boom" for r in rows):
            raise RuntimeError("database unavailable")
        return {r[0] for r in rows}

    async def main():
        c = Coalescer(run_batch, key=lambda r: r[0], max_batch=1, max_inflight=1)
        return await asyncio.gather(c.submit(("a", "ok")), c.submit(("b", "boom")), c.submit(("c", "ok")),
                                    return_exceptions=True)

    a, b, c = asyncio.run(main())
    assert a is True and c is True
    assert isinstance(b, RuntimeError)


def test_cancelled_request_is_dropped_not_written():
    written = []

    async def run_batch(rows):
        written.extend(rows)
        await asyncio.sleep(0.01)
        return {r[0] for r in rows}

    async def main():
        c = Coalescer(run_batch, key=lambda r: r[0], max_inflight=1)
        busy = asyncio.ensure_future(c.submit(("a", 1)))
        await asyncio.sleep(0)
        doomed = asyncio.ensure_future(c.submit(("b", 1)))
        keep = asyncio.ensure_future(c.submit(("c", 1)))
        await asyncio.sleep(0)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await busy, await keep

    assert asyncio.run(main()) == (True, True)
    assert ("b", 1) not in written


def test_one_rooms_statements_never_overlap():
    """Two heartbeats of one room go into consecutive statements, never concurrent ones: with several
    statements in flight the database would otherwise pick their order (seen as a rate limit applied
    to the wrong heartbeat under load)."""
    import asyncio

    from collector.storage.coalesce import Coalescer

    running: set[str] = set()
    overlaps: list[str] = []
    order: list[tuple[str, int]] = []

    async def run_batch(rows):
        for room, _n in rows:
            if room in running:
                overlaps.append(room)
            running.add(room)
        await asyncio.sleep(0.01 * (1 + len(rows) % 3))  # statements of different lengths finish out of order
        for room, n in rows:
            running.discard(room)
            order.append((room, n))
        return {room for room, _n in rows}

    async def main():
        co = Coalescer(run_batch, key=lambda row: row[0], max_batch=3, max_inflight=4)
        jobs = [co.submit((f"r{i % 4}", n)) for n in range(6) for i in range(4)]
        return await asyncio.gather(*jobs)

    results = asyncio.run(main())
    assert all(results)
    assert overlaps == []
    for room in ("r0", "r1", "r2", "r3"):
        assert [n for r, n in order if r == room] == list(range(6))
