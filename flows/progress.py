"""Progress bars on stderr for long work, set up by the CLI and advanced by flow tasks.

Library code never prints; the CLI decides whether a bar is shown (not with ``--json``
or when stderr is not a terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_progress: Progress | None = None


@contextmanager
def progress_bars(enabled: bool) -> Iterator[None]:
    global _progress
    if not enabled:
        yield
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        _progress = progress
        try:
            yield
        finally:
            _progress = None


def tracker(description: str, total: int | None) -> Callable[[int], None]:
    """A callback that advances a new bar by n; a no-op when bars are off."""
    if _progress is None:
        return lambda n: None
    task_id = _progress.add_task(description, total=total)
    return lambda n: _progress.advance(task_id, n) if _progress is not None else None
