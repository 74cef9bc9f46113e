"""A character-level transformer language model trained on six of Shakespeare's sonnets (public domain,
examples/data/sonnets.txt), printing samples as it learns.

    python examples/char_transformer.py [--steps 300] [--sample-every 100]

A small decoder-only model: character and position embeddings, causal self-attention blocks
(tg.nn.TransformerEncoderLayer with is_causal=True, pre-norm), a final LayerNorm and a linear head over
the characters. Each step trains on a batch of random windows of the text to predict every next
character. The samples start as noise, then find spaces and line breaks, then words.
"""

import argparse
from pathlib import Path

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

TEXT = Path(__file__).with_name("data") / "sonnets.txt"


class CharLM(nn.Module):
    def __init__(self, vocab, context=48, width=64, heads=4, layers=2):
        super().__init__()
        self.context = context
        self.chars = nn.Embedding(vocab, width)
        self.positions = nn.Parameter(tg.randn(context, width) * 0.02)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0, batch_first=True,
                                       norm_first=True)
            for _ in range(layers)
        )  # fmt: skip
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, idx):  # idx: (batch, time) int64 -> logits (batch, time, vocab)
        t = idx.shape[1]
        h = self.chars(idx) + self.positions[:t]
        for block in self.blocks:
            h = block(h, is_causal=True)  # each position sees only itself and the past
        return self.head(self.norm(h))

    def sample(self, start, length, temperature=0.8, rng=None):
        rng = rng or np.random.default_rng(0)
        idx = list(start)
        with tg.no_grad():
            for _ in range(length):
                window = tg.tensor([idx[-self.context :]])
                logits = self(window)[0, -1] / temperature
                probs = F.softmax(logits, dim=-1).numpy().astype(np.float64)
                idx.append(int(rng.choice(len(probs), p=probs / probs.sum())))
        return idx


def main(steps=300, sample_every=100, sample_length=160, batch=32, seed=0):
    tg.manual_seed(seed)
    text = TEXT.read_text(encoding="utf-8")
    vocab = sorted(set(text))
    encode = {c: i for i, c in enumerate(vocab)}
    data = np.array([encode[c] for c in text], dtype=np.int64)
    print(f"{TEXT.name}: {len(text)} characters, {len(vocab)} distinct")

    model = CharLM(len(vocab))
    opt = tg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    n = model.context
    prompt = [encode[c] for c in "Shall "]
    for step in range(1, steps + 1):
        starts = rng.integers(0, len(data) - n - 1, batch)
        x = tg.from_numpy(np.stack([data[s : s + n] for s in starts]))
        y = tg.from_numpy(np.stack([data[s + 1 : s + n + 1] for s in starts]))
        loss = F.cross_entropy(model(x).reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % sample_every == 0 or step == steps:
            model.eval()
            sample = "".join(vocab[i] for i in model.sample(prompt, sample_length))
            model.train()
            print(f"\n--- step {step}  loss {loss.item():.3f} ---\n{sample}")
    return loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--sample-every", type=int, default=100)
    args = parser.parse_args()
    main(args.steps, args.sample_every)
