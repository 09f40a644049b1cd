"""Group commit for the heartbeat fast path: heartbeats that arrive while the database is busy with
earlier ones are written together, by one statement, when it is free again.

Under light load every heartbeat is written at once, alone (no timer, no added latency). Under heavy
load the statements in flight are bounded (`max_inflight`) and each carries up to `max_batch`
heartbeats, so the per-statement cost (round trip, driver, planner) is shared. A room appears at most
once per statement (two heartbeats of one room go into consecutive statements, in arrival order).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Hashable, Sequence, Union


class Coalescer:
    def __init__(self, run_batch: Callable[[Sequence[tuple]], Awaitable[Union[set, dict]]],
                 key: Callable[[tuple], Hashable], *, max_batch: int = 100, max_inflight: int = 4):
        # rows -> the keys of the rows it applied (a set), or {key: result} for the applied rows
        self._run_batch = run_batch
        self._key = key
        self._max_batch = max_batch
        self._max_inflight = max_inflight
        self._queue: list[tuple[tuple, asyncio.Future]] = []
        self._inflight = 0
        self._tasks: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks
        # Keys of rows in a statement still in flight: a room's next heartbeat waits for it, so two
        # statements of one room never run concurrently (their order would be the database's choice).
        self._busy: set[Hashable] = set()

    async def submit(self, row: tuple) -> Any:
        """True (or the row's result, when the batch returns a dict) when the row was applied; False
        (None for a dict) when the statement's conditions did not hold for it."""
        fut = asyncio.get_running_loop().create_future()
        self._queue.append((row, fut))
        if self._inflight < self._max_inflight:
            self._inflight += 1
            task = asyncio.ensure_future(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await fut

    def _take(self) -> list[tuple[tuple, asyncio.Future]]:
        batch, rest, keys = [], [], set()
        for item in self._queue:
            k = self._key(item[0])
            if item[1].done() or (k not in keys and k not in self._busy and len(batch) < self._max_batch):
                if not item[1].done():  # a cancelled request's row is simply dropped
                    keys.add(k)
                    batch.append(item)
            else:
                rest.append(item)
        self._queue = rest
        self._busy.update(keys)
        return batch

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                if not batch:
                    return  # what is queued waits for a statement in flight; its drainer takes it next
                try:
                    applied = await self._run_batch([row for row, _ in batch])
                except BaseException as exc:
                    self._busy.difference_update(self._key(row) for row, _ in batch)
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                self._busy.difference_update(self._key(row) for row, _ in batch)
                for row, fut in batch:
                    if not fut.done():
                        key = self._key(row)
                        fut.set_result(applied.get(key) if isinstance(applied, dict) else key in applied)
        finally:
            self._inflight -= 1
