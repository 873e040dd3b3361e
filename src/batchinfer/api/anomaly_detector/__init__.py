"""Anomaly Detector multivariate v1.1: train, detect-batch (chunked), detect-last."""
