"""Exact graph simplifications: the rewritten graph computes what the exported one does.

A small graph in the PP-OCR export style (opset 12, weights in Constant nodes, scalar affine
blocks around a four-op hard-swish, 3x3, 1x1 and padded depthwise convolutions) is simplified
and run beside the original with ONNX Runtime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from batchinfer.inference.graph_rewrite import simplified_bytes, simplify
from batchinfer.inference.runtime import RuntimeSettings, SessionCache

RNG = np.random.default_rng(7)


def _const(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(value.astype(np.float32), name)
    )


def _scalar(name: str, value: float) -> onnx.NodeProto:
    return _const(name, np.array(value, dtype=np.float32))


def _hard_swish(prefix: str, x: str, out: str) -> list[onnx.NodeProto]:
    return [
        _scalar(f"{prefix}.three", 3.0),
        _scalar(f"{prefix}.zero", 0.0),
        _scalar(f"{prefix}.six", 6.0),
        helper.make_node("Add", [x, f"{prefix}.three"], [f"{prefix}.a"]),
        helper.make_node(
            "Clip", [f"{prefix}.a", f"{prefix}.zero", f"{prefix}.six"], [f"{prefix}.c"]
        ),
        helper.make_node("Mul", [x, f"{prefix}.c"], [f"{prefix}.m"]),
        helper.make_node("Div", [f"{prefix}.m", f"{prefix}.six"], [out]),
    ]


def _affine(prefix: str, x: str, out: str, scale_first: bool = True) -> list[onnx.NodeProto]:
    scale, shift = f"{prefix}.scale", f"{prefix}.shift"
    return [
        _scalar(scale, float(RNG.uniform(0.5, 1.5))),
        _scalar(shift, float(RNG.uniform(-0.5, 0.5))),
        helper.make_node("Mul", [scale, x] if scale_first else [x, scale], [f"{prefix}.mul"]),
        helper.make_node("Add", [f"{prefix}.mul", shift], [out]),
    ]


def _conv(
    prefix: str, x: str, out: str, shape: tuple[int, ...], **attrs: object
) -> list[onnx.NodeProto]:
    weight = RNG.normal(0, 0.3, size=shape)
    bias = RNG.normal(0, 0.1, size=shape[0])
    return [
        _const(f"{prefix}.w", weight),
        _const(f"{prefix}.b", bias),
        helper.make_node("Conv", [x, f"{prefix}.w", f"{prefix}.b"], [out], **attrs),
    ]


def _model(extra_output: str | None = None) -> onnx.ModelProto:
    nodes = [
        *_conv("c1", "x", "c1.out", (4, 3, 3, 3), pads=[1, 1, 1, 1]),
        *_affine("lab1", "c1.out", "lab1.out"),
        *_hard_swish("hs1", "lab1.out", "hs1.out"),
        *_affine("lab2", "hs1.out", "lab2.out", scale_first=False),
        *_conv("c2", "lab2.out", "c2.out", (6, 4, 1, 1)),
        *_affine("lab3", "c2.out", "lab3.out"),
        *_hard_swish("hs2", "lab3.out", "hs2.out"),
        *_affine("lab4", "hs2.out", "lab4.out"),
        *_conv("c3", "lab4.out", "y", (6, 1, 3, 3), pads=[1, 1, 1, 1], group=6),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 6, None, None])]
    if extra_output:
        outputs.append(
            helper.make_tensor_value_info(extra_output, TensorProto.FLOAT, [None, 4, None, None])
        )
    graph = helper.make_graph(
        nodes,
        "pp-ocr-style",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, None, None])],
        outputs,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    model.ir_version = 8
    return model


def _run(data: bytes, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return list(session.run(None, {"x": x}))


def test_simplified_graph_computes_the_same_with_fewer_nodes() -> None:
    original = _model().SerializeToString()
    data, counts = simplified_bytes(original)
    assert counts == {
        "constants": counts["constants"],
        "affine_after_conv": 2,  # lab1, lab3
        "hard_swish": 2,
        "affine_before_pointwise_conv": 1,  # lab2 into c2
        "affine_to_batch_norm": 1,  # lab4 before the padded depthwise c3
    }
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert ops.count("Conv") == 3 and "Clip" not in ops and "Div" not in ops
    assert ops.count("HardSigmoid") == 2 and ops.count("BatchNormalization") == 1
    x = RNG.normal(size=(2, 3, 9, 13)).astype(np.float32)
    (expected,), (got,) = _run(original, x), _run(data, x)
    assert got.shape == expected.shape == (2, 6, 9, 13)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_a_tensor_used_elsewhere_is_not_folded_away() -> None:
    model = _model(extra_output="c1.out")  # the first conv's raw output is a graph output
    x = RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)
    expected = _run(model.SerializeToString(), x)
    counts = simplify(model)
    assert counts["affine_after_conv"] == 1  # lab3 only
    assert "c1.out" in {o for n in model.graph.node for o in n.output}
    got = _run(model.SerializeToString(), x)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_session_cache_simplifies_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(_model().SerializeToString())
    cache = SessionCache(RuntimeSettings(providers=("CPUExecutionProvider",), intra_op_threads=1))
    plain, simple = cache.get(path), cache.get(path, simplify=True)
    assert plain is not simple and cache.get(path, simplify=True) is simple
    x = RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(
        simple.run({"x": x})[0], plain.run({"x": x})[0], rtol=1e-5, atol=1e-5
    )


def test_a_graph_that_cannot_be_parsed_still_loads_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "opaque.onnx"
    path.write_bytes(b"not parsed by the fake")
    seen: list[object] = []

    def factory(model: str | bytes, options: object, providers: object) -> object:
        seen.append(model)
        from types import SimpleNamespace

        return SimpleNamespace(
            get_inputs=lambda: [SimpleNamespace(name="x")],
            get_modelmeta=lambda: SimpleNamespace(custom_metadata_map={}),
            get_providers=lambda: ["CPUExecutionProvider"],
        )

    SessionCache(factory=factory).get(path, ["CPUExecutionProvider"], simplify=True)
    assert seen == [str(path.resolve())]
