"""An MLP on the embedded 8x8 digits, in the PyTorch idiom: nn.Module, DataLoader, zero_grad / backward / step.

    python examples/mlp_torch.py [--epochs 10]

The same program runs under PyTorch if `tg` is replaced by `torch` and `tg.data` by `torch.utils.data`.
"""

import argparse

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F


class MLP(nn.Module):
    def __init__(self, inputs=64, hidden=128, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def main(epochs=10, seed=0):
    tg.manual_seed(seed)
    images, labels = tg.data.datasets.load_digits()
    data = tg.data.TensorDataset(tg.from_numpy(images.astype(np.float32) / 16), tg.from_numpy(labels))
    train, test = tg.data.random_split(data, [0.8, 0.2], seed=0)
    loader = tg.data.DataLoader(train, batch_size=32, shuffle=True)

    model = MLP()
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(1, epochs + 1):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with tg.no_grad():
            x, y = next(iter(tg.data.DataLoader(test, batch_size=len(test))))
            accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
        print(f"epoch {epoch:2d}  last batch loss {loss.item():.4f}  held-out accuracy {100 * accuracy:.1f}%")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    main(parser.parse_args().epochs)
