"""The group commit's applier bookkeeping: an item submitted just as the last applier finishes is still applied.

A task's done callbacks run a turn after it finishes, so a set of applier tasks pruned by a done callback still
held a finished applier for that turn: with one batch in flight (SQLite), a request submitted in that turn saw the
set full, started no applier, and waited forever (a run of the answer tests stalled that way for 20 minutes)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from alertsvc.store.group_commit import GroupCommit


async def test_an_item_submitted_as_the_last_applier_ends_is_applied() -> None:
    woken = asyncio.Event()
    applied: list[list[str]] = []

    async def apply(items: Sequence[str]) -> Sequence[str]:
        applied.append(list(items))
        woken.set()  # the second request becomes ready while the applier is still finishing, never suspending
        return list(items)

    batcher: GroupCommit[str, str] = GroupCommit(apply, in_flight=1, max_batch=10)

    async def second() -> str:
        await woken.wait()
        return await batcher.submit("b")

    later = asyncio.create_task(second())
    assert await batcher.submit("a") == "a"
    assert await asyncio.wait_for(later, timeout=2) == "b"
    assert applied == [["a"], ["b"]]


async def test_many_concurrent_items_all_end_with_one_batch_in_flight() -> None:
    async def apply(items: Sequence[int]) -> Sequence[int]:
        await asyncio.sleep(0)
        return [item * 2 for item in items]

    batcher: GroupCommit[int, int] = GroupCommit(apply, in_flight=1, max_batch=7)

    async def one(item: int) -> int:
        for _ in range(item % 3):
            await asyncio.sleep(0)
        return await batcher.submit(item)

    results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(500))), timeout=10)
    assert results == [n * 2 for n in range(500)]
