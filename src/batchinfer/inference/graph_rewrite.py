"""Exact algebraic simplifications of exported ONNX graphs, applied before a session is built.

Why it exists: the PP-OCR graphs were exported from Paddle with every activation spelled out
element by element. Each convolution is followed by a scalar affine "learnable affine block"
(Mul, Add) and a hard-swish written as four ops (Add 3, Clip 0..6, Mul, Div 6), then another
affine block. ONNX Runtime fuses none of these, so on one CPU thread the recognizer spent about
40% of its time in Mul/Add/Clip/Div passes over large tensors rather than in convolutions.
The rewrites here change the arithmetic only by float rounding:

- a scalar Mul/Add right after a Conv is folded into the Conv's weights and bias;
- the four-op hard-swish becomes HardSigmoid(1/6, 1/2) times x (two ops, same function);
- a scalar Mul/Add right before a 1x1 Conv without padding is folded into that Conv.

Only patterns whose intermediate tensors have no other consumer are rewritten, so the graph's
outputs keep their meaning whatever else the graph holds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper


@dataclass
class _Graph:
    """One graph's nodes as a plain list (edited in place), constants and tensor use counts.

    Protobuf repeated fields copy on insert, so rewrites work on detached node copies and
    `commit` writes the list back once.
    """

    model: onnx.ModelProto
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    uses: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, model: onnx.ModelProto) -> _Graph:
        graph = cls(model, [_copy(n) for n in model.graph.node])
        graph.constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        graph.refresh()
        return graph

    def refresh(self) -> None:
        self.uses = Counter(name for node in self.nodes for name in node.input if name)
        self.uses.update(o.name for o in self.model.graph.output)

    def alive(self, node: onnx.NodeProto) -> bool:
        return any(n is node for n in self.nodes)

    def consumers(self) -> dict[str, list[onnx.NodeProto]]:
        found: dict[str, list[onnx.NodeProto]] = {}
        for node in self.nodes:
            for name in node.input:
                found.setdefault(name, []).append(node)
        return found

    def scalar(self, name: str) -> float | None:
        value = self.constants.get(name)
        if value is None or value.size != 1 or value.dtype != np.float32:
            return None
        return float(value.reshape(()))

    def set_initializer(self, name: str, value: np.ndarray) -> None:
        tensor = numpy_helper.from_array(value, name)
        for init in self.model.graph.initializer:
            if init.name == name:
                init.CopyFrom(tensor)
                break
        else:
            self.model.graph.initializer.append(tensor)
        self.constants[name] = value

    def replace_nodes(self, remove: list[onnx.NodeProto], add: list[onnx.NodeProto]) -> None:
        """Drop `remove` and put `add` where the first removed node was (topological order)."""
        at = min(i for i, n in enumerate(self.nodes) if any(n is r for r in remove))
        before = [n for n in self.nodes[:at] if not any(n is r for r in remove)]
        after = [n for n in self.nodes[at:] if not any(n is r for r in remove)]
        self.nodes = before + add + after
        self.refresh()

    def commit(self) -> None:
        del self.model.graph.node[:]
        self.model.graph.node.extend(self.nodes)


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    return copy


def constants_to_initializers(model: onnx.ModelProto) -> int:
    """Turn `Constant` nodes holding a tensor into initializers, so weights can be edited."""
    moved = 0
    kept: list[onnx.NodeProto] = []
    for node in model.graph.node:
        if (
            node.op_type == "Constant"
            and len(node.attribute) == 1
            and node.attribute[0].name == ("value")
        ):
            value = numpy_helper.to_array(node.attribute[0].t)
            model.graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
            moved += 1
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return moved


def _scalar_affine(
    graph: _Graph, start: str, consumers: dict[str, list[onnx.NodeProto]]
) -> tuple[float, float, list[onnx.NodeProto], str] | None:
    """`start` → Mul(scalar) → Add(scalar), each link used once: (scale, shift, nodes, out)."""
    mul_users = consumers.get(start, [])
    if len(mul_users) != 1 or graph.uses[start] != 1 or mul_users[0].op_type != "Mul":
        return None
    mul = mul_users[0]
    other = [n for n in mul.input if n != start]
    scale = graph.scalar(other[0]) if len(other) == 1 else None
    if scale is None:
        return None
    add_users = consumers.get(mul.output[0], [])
    if len(add_users) != 1 or graph.uses[mul.output[0]] != 1 or add_users[0].op_type != "Add":
        return None
    add = add_users[0]
    other = [n for n in add.input if n != mul.output[0]]
    shift = graph.scalar(other[0]) if len(other) == 1 else None
    if shift is None:
        return None
    return scale, shift, [mul, add], add.output[0]


def _conv_params(graph: _Graph, conv: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray] | None:
    weight = graph.constants.get(conv.input[1])
    if weight is None or weight.dtype != np.float32 or graph.uses[conv.input[1]] != 1:
        return None
    if len(conv.input) > 2 and conv.input[2]:
        bias = graph.constants.get(conv.input[2])
        if bias is None or graph.uses[conv.input[2]] != 1:
            return None
    else:
        bias = np.zeros(weight.shape[0], dtype=np.float32)
    return weight, bias


def _set_conv(graph: _Graph, conv: onnx.NodeProto, weight: np.ndarray, bias: np.ndarray) -> None:
    graph.set_initializer(conv.input[1], weight.astype(np.float32))
    if len(conv.input) < 3 or not conv.input[2]:
        name = conv.input[1] + ".folded_bias"
        while len(conv.input) < 3:
            conv.input.append("")
        conv.input[2] = name
    graph.set_initializer(conv.input[2], bias.astype(np.float32))


def fold_affine_after_conv(model: onnx.ModelProto) -> int:
    """Conv → Mul(a) → Add(b) becomes one Conv with weights a·W and bias a·B + b."""
    graph = _Graph.of(model)
    folded = 0
    for conv in list(graph.nodes):
        if conv.op_type != "Conv" or not graph.alive(conv):
            continue
        consumers = graph.consumers()
        affine = _scalar_affine(graph, conv.output[0], consumers)
        params = _conv_params(graph, conv)
        if affine is None or params is None:
            continue
        scale, shift, nodes, out = affine
        weight, bias = params
        _set_conv(graph, conv, weight * np.float32(scale), bias * np.float32(scale) + shift)
        graph.replace_nodes(nodes, [])
        conv.output[0] = out
        graph.refresh()
        folded += 1
    graph.commit()
    return folded


def _is_pointwise(conv: onnx.NodeProto, weight: np.ndarray) -> bool:
    """A 1x1 convolution that reads no padding (so x·a + b commutes into its weights)."""
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    return (
        weight.ndim == 4
        and weight.shape[2:] == (1, 1)
        and not any(pads)
        and auto_pad in (b"NOTSET", b"VALID", "NOTSET", "VALID")
        and int(attrs.get("group", 1)) == 1
    )


@dataclass
class _AffineIntoConv:
    """A scalar x → Mul(a) → Add(b) chain whose only consumer is a Conv's data input."""

    source: str  # x
    scale: float  # a
    shift: float  # b
    nodes: list[onnx.NodeProto]  # the Mul and Add
    out: str  # the Add's output, the Conv's input
    conv: onnx.NodeProto


def _affine_into_conv(graph: _Graph, mul: onnx.NodeProto) -> _AffineIntoConv | None:
    """The affine chain starting at `mul` if it feeds exactly one Conv (as its data input)."""
    if mul.op_type != "Mul" or not graph.alive(mul):
        return None
    consumers = graph.consumers()
    source = next((n for n in mul.input if graph.scalar(n) is None), None)
    if source is None or graph.uses[source] != 1:
        return None
    affine = _scalar_affine(graph, source, consumers)
    if affine is None or affine[2][0] is not mul:
        return None
    scale, shift, nodes, out = affine
    users = consumers.get(out, [])
    if len(users) != 1 or users[0].op_type != "Conv" or users[0].input[0] != out:
        return None
    return _AffineIntoConv(source, scale, shift, nodes, out, users[0])


def fold_affine_before_pointwise_conv(model: onnx.ModelProto) -> int:
    """x → Mul(a) → Add(b) → 1x1 Conv becomes x → Conv with a·W and B + b·ΣW."""
    graph = _Graph.of(model)
    folded = 0
    for mul in list(graph.nodes):
        match = _affine_into_conv(graph, mul)
        if match is None or graph.uses[match.out] != 1:
            continue
        conv, source, scale, shift, nodes = (
            match.conv,
            match.source,
            match.scale,
            match.shift,
            match.nodes,
        )
        params = _conv_params(graph, conv)
        if params is None or not _is_pointwise(conv, params[0]):
            continue
        weight, bias = params
        new_bias = bias + np.float32(shift) * weight.sum(axis=(1, 2, 3))
        _set_conv(graph, conv, weight * np.float32(scale), new_bias)
        conv.input[0] = source
        graph.replace_nodes(nodes, [])
        folded += 1
    graph.commit()
    return folded


def affine_to_batch_norm(model: onnx.ModelProto) -> int:
    """x → Mul(a) → Add(b) → Conv becomes x → BatchNormalization(a, b) → Conv.

    Where the Conv pads its input the affine cannot fold into it; as a BatchNormalization
    (scale a, bias b, mean 0, variance 1 - eps) it stays in ONNX Runtime's blocked NCHWc layout
    instead of forcing a reorder to NCHW and back around two element-wise ops.
    """
    graph = _Graph.of(model)
    rewritten = 0
    for mul in list(graph.nodes):
        match = _affine_into_conv(graph, mul)
        if match is None:
            continue
        source, scale, shift, nodes, out = (
            match.source,
            match.scale,
            match.shift,
            match.nodes,
            match.out,
        )
        weight = graph.constants.get(match.conv.input[1])
        if weight is None or weight.ndim != 4:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in match.conv.attribute}
        channels = weight.shape[1] * int(attrs.get("group", 1))
        eps = 1e-5
        names = [f"{out}.bn_{part}" for part in ("scale", "bias", "mean", "var")]
        values = [
            np.full(channels, scale, np.float32),
            np.full(channels, shift, np.float32),
            np.zeros(channels, np.float32),
            np.full(channels, 1.0 - eps, np.float32),
        ]
        for name, value in zip(names, values, strict=True):
            graph.set_initializer(name, value)
        norm = helper.make_node("BatchNormalization", [source, *names], [out], epsilon=eps)
        graph.replace_nodes(nodes, [norm])
        rewritten += 1
    graph.commit()
    return rewritten


def fuse_hard_swish(model: onnx.ModelProto) -> int:
    """x·Clip(x + 3, 0, 6) / 6 (four ops) becomes x·HardSigmoid(x; 1/6, 1/2) (two ops)."""
    graph = _Graph.of(model)
    fused = 0
    for add in list(graph.nodes):
        if add.op_type != "Add" or len(add.input) != 2 or not graph.alive(add):
            continue
        consumers = graph.consumers()
        x = next((n for n in add.input if graph.scalar(n) is None), None)
        three = next((graph.scalar(n) for n in add.input if n != x), None)
        if x is None or three != 3.0 or graph.uses[add.output[0]] != 1:
            continue
        clip = consumers.get(add.output[0], [None])[0]
        if clip is None or clip.op_type != "Clip" or len(clip.input) != 3:
            continue
        if graph.scalar(clip.input[1]) != 0.0 or graph.scalar(clip.input[2]) != 6.0:
            continue
        if graph.uses[clip.output[0]] != 1:
            continue
        mul = consumers.get(clip.output[0], [None])[0]
        if mul is None or mul.op_type != "Mul" or sorted(mul.input) != sorted([x, clip.output[0]]):
            continue
        if graph.uses[mul.output[0]] != 1:
            continue
        div = consumers.get(mul.output[0], [None])[0]
        if div is None or div.op_type != "Div" or div.input[0] != mul.output[0]:
            continue
        if graph.scalar(div.input[1]) != 6.0:
            continue
        gate = add.output[0] + ".hardsigmoid"
        new = [
            helper.make_node("HardSigmoid", [x], [gate], alpha=1.0 / 6.0, beta=0.5),
            helper.make_node("Mul", [x, gate], [div.output[0]]),
        ]
        graph.replace_nodes([add, clip, mul, div], new)
        fused += 1
    graph.commit()
    return fused


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {name for node in model.graph.node for name in node.input}
    used.update(i.name for i in model.graph.input)
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)


def simplify(model: onnx.ModelProto) -> dict[str, int]:
    """Apply every rewrite in place; returns how many times each one fired."""
    counts = {
        "constants": constants_to_initializers(model),
        "affine_after_conv": fold_affine_after_conv(model),
        "hard_swish": fuse_hard_swish(model),
        "affine_before_pointwise_conv": fold_affine_before_pointwise_conv(model),
        "affine_to_batch_norm": affine_to_batch_norm(model),
    }
    _drop_unused_initializers(model)
    return counts


def simplified_bytes(data: bytes) -> tuple[bytes, dict[str, int]]:
    """A serialized model, simplified; the input is not modified."""
    model = onnx.load_from_string(data)
    counts = simplify(model)
    onnx.checker.check_model(model)
    return model.SerializeToString(), counts
