"""The plate reader's network: a small CNN whose feature map keeps two rows, read top row then
bottom row as one sequence by a BiLSTM, with a CTC head.

One pass reads a whole detector crop, one-row or two-row: for a one-row plate the network
learns to emit the characters in one of the two feature rows and blanks in the other.
"""

from __future__ import annotations

import torch
from torch import nn

from platehub.engine.plate_reader import HEIGHT


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateNet(nn.Module):
    def __init__(self, classes: int, width: int = 1) -> None:
        super().__init__()
        c = [32 * width, 64 * width, 96 * width, 128 * width]
        assert HEIGHT == 32
        self.cnn = nn.Sequential(
            *_block(1, c[0]), nn.MaxPool2d(2),  # 16 x W/2
            *_block(c[0], c[1]), nn.MaxPool2d(2),  # 8 x W/4
            *_block(c[1], c[2]), *_block(c[2], c[2]), nn.MaxPool2d((2, 1)),  # 4 x W/4
            *_block(c[2], c[3]), *_block(c[3], c[3]), nn.MaxPool2d((2, 1)),  # 2 x W/4
        )
        self.rnn = nn.LSTM(c[3], 128, bidirectional=True, batch_first=True)
        self.head = nn.Linear(256, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 1, HEIGHT, WIDTH], standardised grey → log-probabilities [N, 2·WIDTH/4, classes]."""
        f = self.cnn(x)  # N, C, 2, T
        n, ch, rows, t = f.shape
        seq = f.permute(0, 2, 3, 1).reshape(n, rows * t, ch)  # top row, then bottom row
        out, _ = self.rnn(seq)
        return self.head(out).log_softmax(-1)
