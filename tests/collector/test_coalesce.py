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
