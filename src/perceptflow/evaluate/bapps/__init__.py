"""BAPPS through the workflow: 2AFC score and JND mAP of each learned metric beside PSNR and SSIM, per subset."""

from perceptflow.evaluate.bapps.scoring import BASELINES, score_bapps

__all__ = ["BASELINES", "score_bapps"]
