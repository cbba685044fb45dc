"""Write .tflite flatbuffers from Python (no TensorFlow): used to generate single-op
conformance models and synthetic benchmark models. Builds through the generated schema
module's builder functions (the `tflite` package) and the `flatbuffers` runtime.

    b = ModelBuilder()
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.05, zero_point=-3)
    w = b.const("w", weights_int8, scale=[...], zero_point=[0, ...], quantized_dimension=0)
    y = b.tensor("y", (1, 8, 8, 4), "int8", scale=0.1, zero_point=5)
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1)
    data = b.build(inputs=[x], outputs=[y])

Streaming state: tensors of dtype "resource", VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE ops
(string option fields as bytes, e.g. SharedName=b"state"), and CALL_ONCE naming an init
subgraph, given as another ModelBuilder: b.build([x], [y], subgraphs=[init]) makes it subgraph 1.
Variable tensors (the LSTM's hidden and cell state): b.tensor(..., variable=True); an absent
optional input is -1 in the op's input list.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
import tflite as S

TYPES = {"int8": S.TensorType.INT8, "uint8": S.TensorType.UINT8, "int16": S.TensorType.INT16,
         "int32": S.TensorType.INT32, "float32": S.TensorType.FLOAT32, "int64": S.TensorType.INT64,
         "resource": S.TensorType.RESOURCE}
PADDING = {"SAME": S.Padding.SAME, "VALID": S.Padding.VALID}
ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4, "SIGN_BIT": 5}


class ModelBuilder:
    def __init__(self):
        self.tensors = []   # dicts
        self.ops = []       # (builtin name, inputs, outputs, options class name, fields)

    def tensor(self, name, shape, dtype, scale=None, zero_point=None, quantized_dimension=0, data=None,
               variable=False):
        if scale is not None and np.ndim(scale) == 0:
            scale = [scale]
        if zero_point is not None and np.ndim(zero_point) == 0:
            zero_point = [zero_point]
        if scale is not None and zero_point is None:
            zero_point = [0] * len(scale)
        self.tensors.append(dict(name=name, shape=tuple(int(d) for d in shape), dtype=dtype,
                                 scale=scale, zero_point=zero_point, qdim=quantized_dimension, data=data,
                                 variable=bool(variable)))
        return len(self.tensors) - 1

    def const(self, name, data, scale=None, zero_point=None, quantized_dimension=0):
        data = np.asarray(data)
        return self.tensor(name, data.shape, str(data.dtype), scale, zero_point, quantized_dimension, data)

    def op(self, builtin, inputs, outputs, options=None, **fields):
        self.ops.append((builtin, list(inputs), list(outputs), options, fields))

    # -- serialization --------------------------------------------------------------
    @staticmethod
    def _ivec(fb, start, values, dtype="int32"):
        start(fb, len(values))
        prepend = {"int32": fb.PrependInt32, "int64": fb.PrependInt64, "float32": fb.PrependFloat32,
                   "uint8": fb.PrependUint8}[dtype]
        for v in reversed(list(values)):
            prepend(v)
        return fb.EndVector()

    def _options(self, fb, cls, fields):
        mod = S
        vectors = {}
        for k, v in fields.items():
            if isinstance(v, (list, tuple)):
                vectors[k] = self._ivec(fb, getattr(mod, f"{cls}Start{k}Vector"), [int(x) for x in v])
            elif isinstance(v, bytes):
                vectors[k] = fb.CreateString(v)
        getattr(mod, f"{cls}Start")(fb)
        for k, v in fields.items():
            if k in vectors:
                v = vectors[k]
            elif isinstance(v, str):
                v = PADDING[v] if k == "Padding" else ACT[v]
            getattr(mod, f"{cls}Add{k}")(fb, v)
        return getattr(mod, f"{cls}End")(fb)

    def build(self, inputs, outputs, signatures=None, subgraphs=()) -> bytes:
        """The model's bytes. signatures: optional {key: {"inputs": {name: tensor}, "outputs": {name: tensor}}},
        written as the model's SignatureDefs (of subgraph 0); `subgraphs`: further ModelBuilders (no inputs
        or outputs), which become subgraphs 1, 2, ... (CALL_ONCE init subgraphs)."""
        fb = flatbuffers.Builder(1024)
        graphs = [(self, list(inputs), list(outputs))] + [(g, [], []) for g in subgraphs]
        # buffers: 0 is the empty sentinel, then one per constant of every subgraph
        datas = [b""]
        buf_of = []
        for g, _, _ in graphs:
            own = {}
            for i, t in enumerate(g.tensors):
                if t["data"] is not None:
                    own[i] = len(datas)
                    datas.append(np.ascontiguousarray(t["data"]).tobytes())
            buf_of.append(own)
        buf_offs = []
        for raw in datas:
            vec = None
            if raw:
                fb.StartVector(1, len(raw), 16)
                fb.head = fb.head - len(raw)
                fb.Bytes[fb.head:fb.head + len(raw)] = raw
                vec = fb.EndVector()
            S.BufferStart(fb)
            if vec is not None:
                S.BufferAddData(fb, vec)
            buf_offs.append(S.BufferEnd(fb))
        codes = []
        for g, _, _ in graphs:
            for builtin, *_ in g.ops:
                if builtin not in codes:
                    codes.append(builtin)
        code_offs = []
        for c in codes:
            num = getattr(S.BuiltinOperator, c)
            S.OperatorCodeStart(fb)
            S.OperatorCodeAddDeprecatedBuiltinCode(fb, min(num, 127))
            S.OperatorCodeAddBuiltinCode(fb, num)
            S.OperatorCodeAddVersion(fb, 1)
            code_offs.append(S.OperatorCodeEnd(fb))
        sgs = [g._subgraph(fb, own, codes, ins, outs) for (g, ins, outs), own in zip(graphs, buf_of)]

        def vec_of(start, offs):
            start(fb, len(offs))
            for o in reversed(offs):
                fb.PrependUOffsetTRelative(o)
            return fb.EndVector()

        sgv = vec_of(S.ModelStartSubgraphsVector, sgs)
        cv = vec_of(S.ModelStartOperatorCodesVector, code_offs)
        bv = vec_of(S.ModelStartBuffersVector, buf_offs)
        sigv = self._signature_defs(fb, signatures, vec_of) if signatures else None
        desc = fb.CreateString("edge_rt test model")
        S.ModelStart(fb)
        if sigv is not None:
            S.ModelAddSignatureDefs(fb, sigv)
        S.ModelAddVersion(fb, 3)
        S.ModelAddOperatorCodes(fb, cv)
        S.ModelAddSubgraphs(fb, sgv)
        S.ModelAddDescription(fb, desc)
        S.ModelAddBuffers(fb, bv)
        fb.Finish(S.ModelEnd(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())

    def _subgraph(self, fb, buf_of, codes, inputs, outputs):
        tens = []
        for i, t in enumerate(self.tensors):
            name = fb.CreateString(t["name"])
            shape = self._ivec(fb, S.TensorStartShapeVector, t["shape"])
            q = None
            if t["scale"] is not None:
                sc = self._ivec(fb, S.QuantizationParametersStartScaleVector,
                                [float(s) for s in t["scale"]], "float32")
                zp = self._ivec(fb, S.QuantizationParametersStartZeroPointVector,
                                [int(z) for z in t["zero_point"]], "int64")
                S.QuantizationParametersStart(fb)
                S.QuantizationParametersAddScale(fb, sc)
                S.QuantizationParametersAddZeroPoint(fb, zp)
                S.QuantizationParametersAddQuantizedDimension(fb, t["qdim"])
                q = S.QuantizationParametersEnd(fb)
            S.TensorStart(fb)
            S.TensorAddShape(fb, shape)
            S.TensorAddType(fb, TYPES[t["dtype"]])
            S.TensorAddBuffer(fb, buf_of.get(i, 0))
            S.TensorAddName(fb, name)
            if q is not None:
                S.TensorAddQuantization(fb, q)
            if t.get("variable"):
                S.TensorAddIsVariable(fb, True)
            tens.append(S.TensorEnd(fb))

        op_offs = []
        for builtin, ins, outs, opt_cls, fields in self.ops:
            iv = self._ivec(fb, S.OperatorStartInputsVector, ins)
            ov = self._ivec(fb, S.OperatorStartOutputsVector, outs)
            opt = self._options(fb, opt_cls, fields) if opt_cls else None
            S.OperatorStart(fb)
            S.OperatorAddOpcodeIndex(fb, codes.index(builtin))
            S.OperatorAddInputs(fb, iv)
            S.OperatorAddOutputs(fb, ov)
            if opt is not None:
                S.OperatorAddBuiltinOptionsType(fb, getattr(S.BuiltinOptions, opt_cls))
                S.OperatorAddBuiltinOptions(fb, opt)
            op_offs.append(S.OperatorEnd(fb))

        def vec_of(start, offs):
            start(fb, len(offs))
            for o in reversed(offs):
                fb.PrependUOffsetTRelative(o)
            return fb.EndVector()

        tv = vec_of(S.SubGraphStartTensorsVector, tens)
        ov = vec_of(S.SubGraphStartOperatorsVector, op_offs)
        inv = self._ivec(fb, S.SubGraphStartInputsVector, inputs)
        outv = self._ivec(fb, S.SubGraphStartOutputsVector, outputs)
        S.SubGraphStart(fb)
        S.SubGraphAddTensors(fb, tv)
        S.SubGraphAddOperators(fb, ov)
        S.SubGraphAddInputs(fb, inv)
        S.SubGraphAddOutputs(fb, outv)
        return S.SubGraphEnd(fb)

    @staticmethod
    def _signature_defs(fb, signatures, vec_of):
        defs = []
        for key, maps in signatures.items():
            vecs = {}
            for what in ("inputs", "outputs"):
                offs = []
                for name, tid in maps[what].items():
                    n = fb.CreateString(name)
                    S.TensorMapStart(fb)
                    S.TensorMapAddName(fb, n)
                    S.TensorMapAddTensorIndex(fb, tid)
                    offs.append(S.TensorMapEnd(fb))
                start = S.SignatureDefStartInputsVector if what == "inputs" else S.SignatureDefStartOutputsVector
                vecs[what] = vec_of(start, offs)
            k = fb.CreateString(key)
            S.SignatureDefStart(fb)
            S.SignatureDefAddInputs(fb, vecs["inputs"])
            S.SignatureDefAddOutputs(fb, vecs["outputs"])
            S.SignatureDefAddSignatureKey(fb, k)
            S.SignatureDefAddSubgraphIndex(fb, 0)
            defs.append(S.SignatureDefEnd(fb))
        return vec_of(S.ModelStartSignatureDefsVector, defs)
