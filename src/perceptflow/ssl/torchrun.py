"""Multi-process training under ``torchrun``: the launcher the train rule uses when its ``gpu`` resource is > 1.

`train_with_torchrun` re-executes this module as ``python -m torch.distributed.run --standalone
--nproc_per_node N -m perceptflow.ssl.torchrun ...``; every rank joins the process group from the environment
(`perceptflow.ssl.distributed.init_from_env`: NCCL on CUDA, gloo on CPU) and runs the same
`perceptflow.ssl.training.train_from_manifest`. Rank 0 alone writes checkpoints, the encoder and the history JSON,
which the calling process reads back (and logs to its MLflow run).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)


def torchrun_command(
    nproc: int,
    *,
    method: str,
    manifest: PathLikeStr,
    params: Mapping[str, Any],
    checkpoint_dir: PathLikeStr,
    encoder_out: PathLikeStr,
    history_out: PathLikeStr,
    threads: int | None = None,
    decoded_cache: PathLikeStr | None = None,
) -> list[str]:
    """The ``torchrun`` command line that trains ``method`` on ``nproc`` processes (one per GPU)."""
    if nproc < 2:
        raise ValueError(f"torchrun needs >= 2 processes (resources.gpu), got {nproc}")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    command += ["-m", "perceptflow.ssl.torchrun", "--method", method, "--manifest", str(manifest)]
    command += ["--params", json.dumps(dict(params)), "--checkpoint-dir", str(checkpoint_dir)]
    command += ["--encoder-out", str(encoder_out), "--history-out", str(history_out)]
    if threads is not None:
        command += ["--threads", str(threads)]
    if decoded_cache is not None:
        command += ["--decoded-cache", str(decoded_cache)]
    return command


def train_with_torchrun(nproc: int, *, history_out: PathLikeStr, **kwargs: Any) -> list[dict[str, Any]]:
    """Run `torchrun_command` to completion and return rank 0's epoch history.

    Raises:
        RuntimeError: torchrun failed (its exit status is in the message; the ranks' output went to stderr).
    """
    command = torchrun_command(nproc, history_out=history_out, **kwargs)
    log.info("launching %d training processes: %s", nproc, " ".join(command))
    env = {**os.environ, "OMP_NUM_THREADS": str(kwargs.get("threads") or 1)}
    process = subprocess.Popen(command, env=env)
    try:
        returncode = process.wait()
    except BaseException:  # the job is killed: torchrun forwards SIGTERM to its workers; never orphan them
        process.terminate()
        process.wait(timeout=60)
        raise
    if returncode != 0:
        raise RuntimeError(f"torchrun training of {kwargs.get('method')} failed with exit status {returncode}")
    return json.loads(Path(history_out).read_text())


def main(argv: Sequence[str] | None = None) -> int:
    """One rank's entry point under torchrun."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--params", required=True, help="the train section as JSON")
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--encoder-out", required=True)
    parser.add_argument("--history-out", required=True)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process")
    parser.add_argument("--decoded-cache", default=None, help="folder of the decoded-image cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s rank%(process)d %(levelname)s %(name)s: %(message)s")

    import torch.distributed as dist

    from perceptflow.ssl.distributed import init_from_env, is_main_process
    from perceptflow.ssl.registry import METHODS
    from perceptflow.ssl.stage import train_config
    from perceptflow.ssl.training import train_from_manifest

    init_from_env()
    try:
        history = train_from_manifest(
            METHODS[args.method],
            train_config(args.method, json.loads(args.params)),
            args.manifest,
            checkpoint_dir=args.checkpoint_dir,
            encoder_out=args.encoder_out,
            threads=args.threads,
            decoded_cache=args.decoded_cache,
        )
        if is_main_process():
            Path(args.history_out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.history_out).write_text(json.dumps(history))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
