#!/usr/bin/env bash
# Install perceptflow itself into this conda env (its dependencies come from the env file).
# PERCEPTFLOW_SOURCE is set by the Snakefile to the checkout that holds the workflow.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation -e "${PERCEPTFLOW_SOURCE:?run through the perceptflow Snakefile}"
