"""Evaluation: correlations with quality, summaries over splits, full-reference baselines, 2AFC/JND, plots."""

from perceptflow.evaluate.correlation import (
    METRIC_KEYS,
    ConstantInputError,
    correlation_metrics,
    krcc,
    orient,
    plcc,
    plcc_logistic,
    rmse,
    srcc,
)
from perceptflow.evaluate.full_reference import full_reference_baselines, luma, psnr_luma, ssim_luma
from perceptflow.evaluate.logistic import LogisticFit, fit_logistic4
from perceptflow.evaluate.plots import plot_bars, plot_scatter
from perceptflow.evaluate.summary import summarize_nr, summarize_zero_shot
from perceptflow.evaluate.twoafc import jnd_map, score_2afc

__all__ = [
    "METRIC_KEYS",
    "ConstantInputError",
    "LogisticFit",
    "correlation_metrics",
    "fit_logistic4",
    "full_reference_baselines",
    "jnd_map",
    "krcc",
    "luma",
    "orient",
    "plcc",
    "plcc_logistic",
    "plot_bars",
    "plot_scatter",
    "psnr_luma",
    "rmse",
    "score_2afc",
    "srcc",
    "ssim_luma",
    "summarize_nr",
    "summarize_zero_shot",
]
