"""Glue for thin rule scripts: logging to the rule's log file plus the stage's MLflow run."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
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
        record_imports(smk.rule, smk.output.run)
    except BaseException:
        logging.getLogger("perceptflow").exception("rule %s failed", smk.rule)
        raise
    finally:
        root.removeHandler(handler)
        handler.close()
        sys.stderr.flush()


#: Folder where each rule job writes the perceptflow modules it imported (set by the tests that check that a
#: rule's code hash covers what it runs: `perceptflow.wiring.import_closure`).
IMPORTS_LOG_ENV = "PERCEPTFLOW_IMPORTS_LOG"


def record_imports(rule: str, run_file: str) -> None:
    """When `IMPORTS_LOG_ENV` names a folder, write the perceptflow modules this job imported to
    ``<folder>/<rule>/<job>.txt`` (one module per line); do nothing otherwise."""
    folder = os.environ.get(IMPORTS_LOG_ENV)
    if not folder:
        return
    target = Path(folder) / rule / (hashlib.sha256(str(run_file).encode()).hexdigest()[:12] + ".txt")
    target.parent.mkdir(parents=True, exist_ok=True)
    modules = sorted(name for name in sys.modules if name == "perceptflow" or name.startswith("perceptflow."))
    target.write_text("\n".join(modules) + "\n")
