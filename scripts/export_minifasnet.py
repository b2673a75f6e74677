"""Export the Silent-Face MiniFASNet anti-spoofing weights (PyTorch state dicts) to ONNX, once.

The project never depends on torch: run this in a throwaway venv and commit the .onnx files.

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy onnx opencv-python-headless==4.14.0.94
    /tmp/torchvenv/bin/python scripts/export_minifasnet.py /work/shared/models/silent_face models

The network below is minivision-ai/Silent-Face-Anti-Spoofing's MiniFASNetV2 / MiniFASNetV1SE
(Apache-2.0), rebuilt from the state dict: every channel count is read from the weight shapes,
only the strides, paddings and the block order (fixed by the architecture) are written here.
After export the script checks that onnx (via cv2.dnn, the runtime the project uses) gives the
same softmax as torch on random inputs, and fails loudly if not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

WEIGHTS = {
    # file name -> (ONNX name, does it have squeeze-excitation blocks)
    "2.7_80x80_MiniFASNetV2.pth": ("minifasnet_v2_scale2.7_80x80.onnx", False),
    "4_0_0_80x80_MiniFASNetV1SE.pth": ("minifasnet_v1se_scale4.0_80x80.onnx", True),
}


def _shape(sd: dict[str, torch.Tensor], key: str) -> tuple[int, ...]:
    return tuple(sd[key].shape)


class ConvBlock(nn.Module):
    """conv → batch norm → PReLU (``prelu=False``: the repository's Linear_block)."""

    def __init__(self, sd, prefix, *, stride=1, padding=0, depthwise=False, prelu=True):
        super().__init__()
        out_c, in_per_group, kh, kw = _shape(sd, f"{prefix}.conv.weight")
        groups = out_c if depthwise else 1
        in_c = in_per_group * groups
        self.conv = nn.Conv2d(in_c, out_c, (kh, kw), stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_c)
        self.prelu = nn.PReLU(out_c) if prelu else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.prelu(x) if self.prelu is not None else x


class SEModule(nn.Module):
    def __init__(self, sd, prefix):
        super().__init__()
        mid, ch = _shape(sd, f"{prefix}.fc1.weight")[:2]
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(ch, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(mid, ch, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        w = self.avg_pool(x)
        w = self.sigmoid(self.bn2(self.fc2(self.relu(self.bn1(self.fc1(w))))))
        return x * w


class DepthWise(nn.Module):
    """1×1 expand → 3×3 depthwise → 1×1 project, optional SE, optional residual."""

    def __init__(self, sd, prefix, *, stride, residual):
        super().__init__()
        self.conv = ConvBlock(sd, f"{prefix}.conv")
        self.conv_dw = ConvBlock(sd, f"{prefix}.conv_dw", stride=stride, padding=1, depthwise=True)
        self.project = ConvBlock(sd, f"{prefix}.project", prelu=False)
        has_se = f"{prefix}.se_module.fc1.weight" in sd
        self.se_module = SEModule(sd, f"{prefix}.se_module") if has_se else None
        self.residual = residual

    def forward(self, x):
        y = self.project(self.conv_dw(self.conv(x)))
        if self.se_module is not None:
            y = self.se_module(y)
        return x + y if self.residual else y


class Residual(nn.Module):
    def __init__(self, sd, prefix):
        super().__init__()
        n = 0
        while f"{prefix}.model.{n}.conv.conv.weight" in sd:
            n += 1
        self.model = nn.Sequential(
            *[DepthWise(sd, f"{prefix}.model.{i}", stride=1, residual=True) for i in range(n)]
        )

    def forward(self, x):
        return self.model(x)


class MiniFASNet(nn.Module):
    def __init__(self, sd):
        super().__init__()
        self.conv1 = ConvBlock(sd, "conv1", stride=2, padding=1)
        self.conv2_dw = ConvBlock(sd, "conv2_dw", stride=1, padding=1, depthwise=True)
        self.conv_23 = DepthWise(sd, "conv_23", stride=2, residual=False)
        self.conv_3 = Residual(sd, "conv_3")
        self.conv_34 = DepthWise(sd, "conv_34", stride=2, residual=False)
        self.conv_4 = Residual(sd, "conv_4")
        self.conv_45 = DepthWise(sd, "conv_45", stride=2, residual=False)
        self.conv_5 = Residual(sd, "conv_5")
        self.conv_6_sep = ConvBlock(sd, "conv_6_sep")
        self.conv_6_dw = ConvBlock(sd, "conv_6_dw", depthwise=True, prelu=False)
        emb, flat = _shape(sd, "linear.weight")
        self.linear = nn.Linear(flat, emb, bias=False)
        self.bn = nn.BatchNorm1d(emb)
        self.prob = nn.Linear(emb, _shape(sd, "prob.weight")[0], bias=False)

    def forward(self, x):
        for block in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34,
                      self.conv_4, self.conv_45, self.conv_5, self.conv_6_sep, self.conv_6_dw):
            x = block(x)
        x = self.prob(self.bn(self.linear(torch.flatten(x, 1))))
        # softmax inside the graph: the runtime gets probabilities (class 1 = real face)
        return torch.softmax(x, dim=1)


def export(src: Path, dst: Path) -> None:
    import cv2

    torch.manual_seed(0)
    for pth, (onnx_name, _se) in WEIGHTS.items():
        raw = torch.load(src / pth, map_location="cpu")
        sd = {k.removeprefix("module."): v for k, v in raw.items()}
        net = MiniFASNet(sd)
        net.load_state_dict(sd, strict=True)  # raises if any shape or name disagrees
        net.eval()
        # The repository feeds BGR crops as float 0..255 (its ToTensor does not divide by 255).
        dummy = torch.rand(1, 3, 80, 80) * 255
        out = dst / onnx_name
        torch.onnx.export(net, (dummy,), str(out), input_names=["input"], output_names=["prob"],
                          opset_version=13, dynamo=False)
        # verify: cv2.dnn on the ONNX file against torch, on random and smooth inputs
        dnn = cv2.dnn.readNetFromONNX(str(out))
        worst = 0.0
        for i in range(16):
            x = torch.rand(1, 3, 80, 80) * 255
            if i % 2:  # smoother, image-like input
                x = torch.nn.functional.interpolate(torch.rand(1, 3, 10, 10) * 255, size=80,
                                                    mode="bilinear")
            with torch.no_grad():
                ref = net(x).numpy()
            dnn.setInput(x.numpy())
            got = dnn.forward()
            worst = max(worst, float(np.abs(ref - got).max()))
        print(f"{onnx_name}: max |torch - cv2.dnn| over 16 inputs = {worst:.2e}")
        if worst > 1e-4:
            raise SystemExit(f"export mismatch for {onnx_name}: {worst}")


if __name__ == "__main__":
    export(Path(sys.argv[1]), Path(sys.argv[2]))
