"""An MLP on the embedded 8x8 digits, in the TensorFlow idiom: Variables, GradientTape, apply_gradients.

    python examples/mlp_tf.py [--epochs 10]

No Module here: the weights are plain tg.Variable objects, the loss is computed under a tape, and the
optimizer takes (gradient, variable) pairs, as in TensorFlow's custom training loops.
"""

import argparse
import math

import numpy as np

import tapegrad as tg
from tapegrad.nn import functional as F


def dense(fan_in, fan_out):
    bound = 1 / math.sqrt(fan_in)
    return tg.Variable(tg.rand(fan_in, fan_out) * 2 * bound - bound), tg.Variable(tg.zeros(fan_out))


def main(epochs=10, seed=0):
    tg.manual_seed(seed)
    images, labels = tg.data.datasets.load_digits()
    x_all = tg.from_numpy(images.reshape(-1, 64).astype(np.float32) / 16)
    train, test = tg.data.random_split(tg.data.TensorDataset(x_all, tg.from_numpy(labels)), [0.8, 0.2], seed=0)

    w1, b1 = dense(64, 128)
    w2, b2 = dense(128, 10)
    variables = [w1, b1, w2, b2]
    opt = tg.optim.Adam(lr=3e-3)  # TF style: no parameters up front; apply_gradients brings them

    def model(x):
        return tg.matmul(F.relu(tg.matmul(x, w1) + b1), w2) + b2

    for epoch in range(1, epochs + 1):
        for x, y in tg.data.DataLoader(train, batch_size=32, shuffle=True):
            with tg.GradientTape() as tape:
                loss = F.cross_entropy(model(x), y)
            grads = tape.gradient(loss, variables)
            opt.apply_gradients(zip(grads, variables))
        x, y = next(iter(tg.data.DataLoader(test, batch_size=len(test))))
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
        print(f"epoch {epoch:2d}  last batch loss {loss.item():.4f}  held-out accuracy {100 * accuracy:.1f}%")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    main(parser.parse_args().epochs)
