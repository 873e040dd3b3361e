"""Build the ONNX graph of the numeric core (see features.py for the exact maths).

Input  `x` float32 [T, V]: a contiguous, aligned block (no NaN), T ≥ slidingWindow.
Output `z` float32 [T-w+1, V]: normalised residuals for rows w-1 .. T-1 of the block.

Why a contiguous block rather than [N, w, V] windows: windows overlap by w-1 rows, so stacking
them would multiply memory by w (300× at the default); the graph slices lags out of the block
instead. Every output row depends only on its own w rows, computed by the same ops in the same
order whatever T is, which is what makes chunked inference equal a single pass.

`onnx` is imported lazily: only training needs it, inference only reads the file.
"""

from __future__ import annotations

import numpy as np

from batchinfer.models.mvad.features import FEATURE_GROUPS, CoreParams

OPSET = 17
INPUT_NAME = "x"
OUTPUT_NAME = "z"
PRODUCER = "batchinfer.mvad"
_INT64_MAX = np.iinfo(np.int64).max


def build_onnx(params: CoreParams, doc: str = "") -> bytes:
    """Serialised ModelProto (deterministic bytes for the same params)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = params.sliding_window
    v = params.n_variables
    taps, dilation = params.taps
    span = (taps - 1) * dilation + 1
    hist_start = (w - 1) - span

    def const(name: str, array: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(np.ascontiguousarray(array), name)

    def i64(*values: int) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    inits = [
        const("mean", params.mean.astype(np.float32)),
        const("std", params.std.astype(np.float32)),
        const("weight", params.weight.astype(np.float32)),
        const("bias", params.bias.astype(np.float32)),
        const("mean_kernel", np.full((1, 1, taps), 1.0 / taps, dtype=np.float32)),
        const("axis0", i64(0)),
        const("axis1", i64(1)),
        const("end_all", i64(_INT64_MAX)),
        const("end_m1", i64(-1)),
        const("end_m2", i64(-2)),
        const("start_cur", i64(w - 1)),
        const("start_lag1", i64(w - 2)),
        const("start_lag2", i64(w - 3)),
        const("start_hist", i64(hist_start)),
    ]
    nodes = [
        helper.make_node("Sub", [INPUT_NAME, "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["xs"]),
        helper.make_node("Slice", ["xs", "start_cur", "end_all", "axis0"], ["cur"]),
        helper.make_node("Slice", ["xs", "start_lag1", "end_m1", "axis0"], ["lag1"]),
        helper.make_node("Slice", ["xs", "start_lag2", "end_m2", "axis0"], ["lag2"]),
        # Window mean as a dilated 1-D convolution, one "image" per variable: [V, 1, L].
        helper.make_node("Slice", ["xs", "start_hist", "end_m1", "axis0"], ["hist"]),
        helper.make_node("Transpose", ["hist"], ["hist_t"], perm=[1, 0]),
        helper.make_node("Unsqueeze", ["hist_t", "axis1"], ["hist_img"]),
        helper.make_node(
            "Conv",
            ["hist_img", "mean_kernel"],
            ["wmean_img"],
            kernel_shape=[taps],
            dilations=[dilation],
            strides=[1],
            pads=[0, 0],
        ),
        helper.make_node("Squeeze", ["wmean_img", "axis1"], ["wmean_t"]),
        helper.make_node("Transpose", ["wmean_t"], ["wmean"], perm=[1, 0]),
        helper.make_node("Concat", ["cur", "lag1", "lag2", "wmean"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "weight"], ["projected"]),
        helper.make_node("Add", ["projected", "bias"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes,
        "mvad_core",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["T", v])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", v])],
        initializer=inits,
        doc_string=doc
        or "MVAD core: standardise, window features "
        f"({', '.join(FEATURE_GROUPS)}), ridge residual, normalise.",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version="1",
    )
    model.ir_version = 8  # readable by onnxruntime ≥ 1.10
    helper.set_model_props(
        model,
        {
            "slidingWindow": str(w),
            "variables": str(v),
            "meanTaps": str(taps),
            "meanDilation": str(dilation),
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


def read_core_params(onnx_bytes: bytes, sliding_window: int) -> CoreParams:
    """CoreParams back from a saved graph (tests and offline analysis; needs `onnx`)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(onnx_bytes)
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return CoreParams(
        sliding_window, arrays["mean"], arrays["std"], arrays["weight"], arrays["bias"]
    )
