"""Multivariate anomaly detection as a service: model store, data sources, train and detect steps.

The model itself (features, ONNX core, scoring) lives in `batchinfer.models.mvad`; this package
is what the API and the orchestrations call: where data comes from, where models and results are
kept, and the plain functions each activity runs.
"""
