"""Minutes are written in a child process, not a thread of the server (the GIL)."""

from __future__ import annotations

import os

from conference.minutes import offload


def _pid(_value: object) -> int:
    return os.getpid()


async def test_writing_runs_in_another_process_which_is_replaced_if_it_dies() -> None:
    try:
        first = await offload.run_elsewhere(_pid, None)
        assert first != os.getpid()
        assert await offload.run_elsewhere(_pid, None) == first  # kept between renders
        os.kill(first, 9)
        second = await offload.run_elsewhere(_pid, None)
        assert second not in (first, os.getpid())
    finally:
        offload.shutdown()
