"""Running the distort stage's tasks through dask: local threads or processes, or a ``dask.distributed`` scheduler.

The choice is an execution setting, read from the ``PERCEPTFLOW_DASK_SCHEDULER`` environment variable (or passed
explicitly), never a rerun trigger: ``threads`` (default), ``processes`` (a local process pool: no GIL contention,
at the cost of pickling every task's image), ``synchronous`` (one thread, for debugging), or the address of a
running ``dask.distributed`` scheduler, e.g. ``tcp://10.0.0.5:8786``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import dask

log = logging.getLogger(__name__)

SCHEDULER_ENV = "PERCEPTFLOW_DASK_SCHEDULER"
#: Local dask schedulers selectable by name; anything else is taken as a dask.distributed address.
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")


def resolve_scheduler(scheduler: str | None = None) -> str:
    """The scheduler to use: ``scheduler`` when given, else ``$PERCEPTFLOW_DASK_SCHEDULER``, else ``threads``."""
    return (scheduler or os.environ.get(SCHEDULER_ENV) or "threads").strip()


def compute_tasks(tasks: Sequence[Any], *, threads: int = 1, scheduler: str | None = None) -> list[Any]:
    """Compute dask delayed ``tasks`` with ``threads`` workers on the resolved scheduler; results in task order.

    Local schedulers show dask's progress bar (no tqdm). ``threads`` is ignored by a distributed scheduler,
    whose workers decide their own parallelism.

    Raises:
        RuntimeError: a distributed address was given but ``dask.distributed`` is not installed.
    """
    name = resolve_scheduler(scheduler)
    if name in LOCAL_SCHEDULERS:
        from dask.diagnostics import ProgressBar

        log.info("computing %d dask tasks on the local %s scheduler (%d workers)", len(tasks), name, threads)
        with ProgressBar(dt=1.0), _main_module_hidden() if name == "processes" else contextlib.nullcontext():
            return list(dask.compute(*tasks, scheduler=name, num_workers=max(1, threads)))
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise RuntimeError(
            f"{SCHEDULER_ENV}={name!r} is neither one of {LOCAL_SCHEDULERS} nor usable as a dask.distributed "
            "address: pip install distributed"
        ) from error
    with Client(name) as client:
        log.info("computing %d dask tasks on the dask.distributed scheduler at %s", len(tasks), name)
        return list(client.gather(client.compute(list(tasks))))


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Keep spawned workers from re-running the parent's ``__main__`` file.

    dask's process pool spawns workers, and a spawned worker first runs the parent's main script unless it is
    guarded by ``if __name__ == "__main__"``; Snakemake's rule scripts (run as ``python script.py``) are not, so
    each worker would run the rule again. Tasks are library functions, so workers need nothing from ``__main__``.
    """
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {
        key: main.__dict__[key] for key in ("__file__", "__spec__") if main is not None and key in main.__dict__
    }
    if main is not None:
        main.__dict__.pop("__file__", None)
        main.__spec__ = None  # spawn reads it; None means "no module name to import"
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
