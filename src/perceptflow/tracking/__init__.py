"""MLflow tracking: one run per workflow stage, lineage through small run files."""

from perceptflow.tracking.runs import (
    STAGES,
    StageRun,
    TrackingSettings,
    init_tracking,
    read_run_ids,
    reap_stale_runs,
    stage_run,
)

__all__ = ["STAGES", "StageRun", "TrackingSettings", "init_tracking", "read_run_ids", "reap_stale_runs", "stage_run"]
