"""A small CNN on the embedded 8x8 digits, in the PyTorch idiom: nn.Sequential of Conv2d / ReLU / MaxPool2d.

    python examples/cnn_torch.py [--epochs 8]

`tapegrad train` runs the same model with a progress bar, checkpoints and a chart.
"""

import argparse

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F


def main(epochs=8, seed=0):
    tg.manual_seed(seed)
    images, labels = tg.data.datasets.load_digits()
    x_all = tg.from_numpy(images[:, None].astype(np.float32) / 16)  # (N, 1, 8, 8): one input channel
    train, test = tg.data.random_split(tg.data.TensorDataset(x_all, tg.from_numpy(labels)), [0.8, 0.2], seed=0)
    loader = tg.data.DataLoader(train, batch_size=32, shuffle=True)

    model = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # -> 32 x 4 x 4
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 64 x 2 x 2
        nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
    )  # fmt: skip
    opt = tg.optim.Adam(model.parameters(), lr=2e-3)
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
    tg.save(model.state_dict(), "cnn_digits.safetensors")  # readable by safetensors.torch.load_file too
    print("weights saved to cnn_digits.safetensors")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    main(parser.parse_args().epochs)
