"""Running the distort stage's tasks through dask: local threads or processes, or a ``dask.distributed`` scheduler.

The choice is an execution setting, read from the ``PERCEPTFLOW_DASK_SCHEDULER`` environment variable (or passed
explicitly), never a rerun trigger: ``threads`` (default), ``processes`` (a local process pool: no GIL contention,
at the cost of pickling every task's image), ``synchronous`` (one thread, for debugging), or the address of a
running ``dask.distributed`` scheduler, e.g. ``tcp://10.0.0.5:8786``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
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
        with ProgressBar(dt=1.0):
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
