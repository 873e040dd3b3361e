"""Model implementations: the pipelines behind the registry's model ids (pre/post-processing
around ONNX graphs). They reach ONNX Runtime only through `batchinfer.inference.runtime`."""
