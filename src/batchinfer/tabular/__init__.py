"""Tabular datasets and models for the dataset inference API (woodwide dialect).

`store` keeps records and files, `ingest` turns CSV/Parquet uploads into versioned Parquet,
`training` fits scikit-learn pipelines and exports them to ONNX, `scoring` runs a model over
one chunk of rows, `assembly` joins chunk outputs into the requested result format, and
`steps` holds what the durable activities do with these.
"""
