"""Glue for thin rule scripts: logging to the rule's log file plus the stage's MLflow run."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from perceptflow.tracking.runs import StageRun, TrackingSettings, stage_run

RUN_FILE_SUFFIX = "mlflow_run.json"


@contextlib.contextmanager
def rule_run(smk: Any, *, stage: str) -> Iterator[StageRun]:
    """Context for a rule script: log to ``smk.log[0]``, open the stage's MLflow run, record lineage.

    Upstream run files are the inputs whose name ends in ``mlflow_run.json``; the run file written is the output
    named ``run``. Params are the rule's ``params:`` (plain data); the ``mlflow`` config section is read here and
    nowhere else, so tracking settings never trigger reruns.
    """
    log_path = Path(smk.log[0])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    upstream = sorted({str(p) for p in smk.input if str(p).endswith(RUN_FILE_SUFFIX)})
    params = {key: value for key, value in smk.params.items()}
    try:
        # BLAS/OpenMP pools default to every core; on a shared node that oversubscribes and slows SVDs 10x.
        with (
            threadpool_limits(limits=max(1, int(smk.threads))),
            stage_run(
                stage=stage,
                rule=smk.rule,
                run_file=smk.output.run,
                settings=TrackingSettings.from_config(smk.config.get("mlflow")),
                params=params,
                upstream_run_files=upstream,
                wildcards=dict(smk.wildcards.items()),
            ) as run,
        ):
            run.set_tags({"perceptflow.threads": smk.threads})
            yield run
            handler.flush()
            run.log_artifact(log_path, artifact_path="logs")
    except BaseException:
        logging.getLogger("perceptflow").exception("rule %s failed", smk.rule)
        raise
    finally:
        root.removeHandler(handler)
        handler.close()
        sys.stderr.flush()
