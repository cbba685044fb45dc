"""PAD -> CONV_2D / DEPTHWISE_CONV_2D  =>  CONV_2D(explicit padding)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph
from .util import drop_ops, single_consumer

TARGETS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def fold_pad(g: Graph):
    """PAD -> CONV_2D / DEPTHWISE_CONV_2D  =>  CONV_2D(explicit padding)

    Exact because PAD fills with the input zero point, where (x + input_offset) is 0, which is
    what the convolution's skipped padded taps contribute (int16x8: zero point 0, a 0 tap). Pooling is never folded: average
    pooling divides by the count of valid taps and max pooling ignores padded taps, so a
    zero-point border changes their results."""
    consumers = g.consumers()
    dead = set()
    folded = 0
    for i, op in enumerate(g.ops):
        if op.type != "PAD" or len(op.inputs) < 2:
            continue
        c = single_consumer(g, op.outputs[0], consumers)
        if c is None or g.ops[c].type not in TARGETS or g.ops[c].inputs[0] != op.outputs[0]:
            continue
        conv = g.ops[c]
        pads_t = g.tensors[op.inputs[1]]
        x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
        if pads_t.data is None or len(x.shape) != 4 or x.dtype not in ("int8", "int16"):
            continue
        pads = np.asarray(pads_t.data).reshape(-1, 2)
        if pads.shape[0] != 4 or pads[0].any() or pads[3].any() or (pads < 0).any():
            continue  # only spatial padding folds into a convolution
        if y.scale is None or x.scale is None or int(y.zero_point[0]) != int(x.zero_point[0]):
            continue
        if conv.options.get("padding") == "SAME":
            continue  # would need the sum of both paddings; leave it
        (pt, pb), (pl, pr) = pads[1], pads[2]
        if conv.options.get("padding") == "EXPLICIT":
            a, b_, c_, d = conv.options["pad"]
            pt, pb, pl, pr = pt + a, pb + b_, pl + c_, pr + d
        conv.options = dict(conv.options, padding="EXPLICIT", pad=(int(pt), int(pb), int(pl), int(pr)))
        conv.inputs = [op.inputs[0]] + conv.inputs[1:]
        conv.source = sorted(op.source + conv.source)
        dead.add(i)
        folded += 1
    return drop_ops(g, dead), (f"folded {folded} PAD op(s) into convolutions" if folded else "")
