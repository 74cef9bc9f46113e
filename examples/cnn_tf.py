"""A small CNN on the embedded 8x8 digits, in the TensorFlow idiom: Variables, GradientTape, and the
optimizer's minimize(loss_fn, var_list).

    python examples/cnn_tf.py [--epochs 8]

The layers are functions of Variables (conv2d, max_pool2d, a dense layer). Images are NCHW, as
everywhere in tapegrad (TensorFlow's default is NHWC).
"""

import argparse
import math

import numpy as np

import tapegrad as tg
from tapegrad.nn import functional as F


def uniform(shape, fan_in):
    bound = 1 / math.sqrt(fan_in)
    return tg.Variable(tg.rand(*shape) * 2 * bound - bound)


def main(epochs=8, seed=0):
    tg.manual_seed(seed)
    images, labels = tg.data.datasets.load_digits()
    x_all = tg.from_numpy(images[:, None].astype(np.float32) / 16)
    train, test = tg.data.random_split(tg.data.TensorDataset(x_all, tg.from_numpy(labels)), [0.8, 0.2], seed=0)

    k1, c1 = uniform((32, 1, 3, 3), 9), uniform((32,), 9)
    k2, c2 = uniform((64, 32, 3, 3), 32 * 9), uniform((64,), 32 * 9)
    w, b = uniform((256, 10), 256), uniform((10,), 256)
    variables = [k1, c1, k2, c2, w, b]
    opt = tg.optim.Adam(lr=2e-3)

    def model(x):
        h = F.max_pool2d(F.relu(F.conv2d(x, k1, c1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, k2, c2, padding=1)), 2)
        return tg.matmul(h.flatten(1), w) + b

    for epoch in range(1, epochs + 1):
        for x, y in tg.data.DataLoader(train, batch_size=32, shuffle=True):
            loss = opt.minimize(lambda x=x, y=y: F.cross_entropy(model(x), y), var_list=variables)  # returns the loss
        x, y = next(iter(tg.data.DataLoader(test, batch_size=len(test))))
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
        print(f"epoch {epoch:2d}  last batch loss {loss.item():.4f}  held-out accuracy {100 * accuracy:.1f}%")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    main(parser.parse_args().epochs)
