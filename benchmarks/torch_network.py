"""Plain PyTorch Stacked Hourglass / ACNN, the reference network of `benchmarks.model`.

The same network as `kerashg.StackedHourglass` / `kerashg.ACNN` (same layers,
same parameter count; NCHW tensors), written like
princeton-vl/pytorch_stacked_hourglass. PyTorch is optional and not a kerashg
dependency: only `python -m benchmarks.torch_hourglass` imports this module.
"""

import torch
from torch import nn

BN_MOMENTUM = 0.1  # torch's convention: 1 - Keras' 0.9
BN_EPSILON = 1e-5


class Residual(nn.Module):
    """Pre-activation bottleneck; 1×1 conv skip only when channels differ."""

    def __init__(self, in_channels, filters):
        super().__init__()
        mid = filters // 2
        self.bn1 = nn.BatchNorm2d(in_channels, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.conv1 = nn.Conv2d(in_channels, mid, 1)
        self.bn2 = nn.BatchNorm2d(mid, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(mid, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(mid, filters, 1)
        self.skip = nn.Conv2d(in_channels, filters, 1) if in_channels != filters else None
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.conv1(self.relu(self.bn1(x)))
        y = self.conv2(self.relu(self.bn2(y)))
        y = self.conv3(self.relu(self.bn3(y)))
        return y + (x if self.skip is None else self.skip(x))


class Hourglass(nn.Module):
    def __init__(self, depth, filters):
        super().__init__()
        self.up1 = Residual(filters, filters)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.low1 = Residual(filters, filters)
        self.low2 = Hourglass(depth - 1, filters) if depth > 1 else Residual(filters, filters)
        self.low3 = Residual(filters, filters)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        return self.up1(x) + self.up2(self.low3(self.low2(self.low1(self.pool1(x)))))


class AttentionMask(nn.Module):
    def __init__(self, in_channels, filters, num_convs=2):
        super().__init__()
        layers = []
        for i in range(num_convs):
            layers += [
                nn.Conv2d(in_channels if i == 0 else filters, filters, 3, padding=1),
                nn.BatchNorm2d(filters, eps=BN_EPSILON, momentum=BN_MOMENTUM),
                nn.ReLU(),
            ]
        layers += [nn.Conv2d(filters, 1, 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class PoseNet(nn.Module):
    """Stacked Hourglass (attention=False) or ACNN (attention=True).

    Output `(B, S, K, H/4, W/4)` heatmaps (ACNN: the predictions P_i = H_i + P_{i-1}(1 - M_{i-1})).
    """

    def __init__(self, num_stacks, num_keypoints, filters, depth, attention=False):
        super().__init__()
        self.num_stacks = num_stacks
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3),
            nn.BatchNorm2d(64, eps=BN_EPSILON, momentum=BN_MOMENTUM),
            nn.ReLU(),
            Residual(64, 128),
            nn.MaxPool2d(2, 2),
            Residual(128, 128),
            Residual(128, filters),
        )
        self.hourglasses = nn.ModuleList(Hourglass(depth, filters) for _ in range(num_stacks))
        self.features = nn.ModuleList(
            nn.Sequential(
                Residual(filters, filters),
                nn.Conv2d(filters, filters, 1),
                nn.BatchNorm2d(filters, eps=BN_EPSILON, momentum=BN_MOMENTUM),
                nn.ReLU(),
            )
            for _ in range(num_stacks)
        )
        self.outs = nn.ModuleList(nn.Conv2d(filters, num_keypoints, 1) for _ in range(num_stacks))
        self.merge_features = nn.ModuleList(
            nn.Conv2d(filters, filters, 1) for _ in range(num_stacks - 1)
        )
        self.merge_preds = nn.ModuleList(
            nn.Conv2d(num_keypoints, filters, 1) for _ in range(num_stacks - 1)
        )
        self.attention = (
            nn.ModuleList(AttentionMask(filters, max(filters // 4, 1)) for _ in range(num_stacks))
            if attention
            else None
        )

    def forward(self, images):
        x = self.stem(images)
        predictions, previous, previous_mask = [], None, None
        for i in range(self.num_stacks):
            features = self.features[i](self.hourglasses[i](x))
            heatmaps = self.outs[i](features).float()
            mask = None if self.attention is None else self.attention[i](features)
            if previous is not None and previous_mask is not None:
                heatmaps = heatmaps + previous * (1.0 - previous_mask.float())
            predictions.append(heatmaps)
            previous, previous_mask = heatmaps, mask
            if i < self.num_stacks - 1:
                x = x + self.merge_features[i](features) + self.merge_preds[i](heatmaps.to(x.dtype))
                if mask is not None:
                    x = x * mask.to(x.dtype)
        return torch.stack(predictions, dim=1)
