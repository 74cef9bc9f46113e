"""What each rank runs under `mpiexec -n N python tests/distributed/workers.py NAME`: one function per
check, asserting on its own rank; a failed assertion aborts the job (tg.distributed's excepthook), so the
launcher's exit status is the verdict. Started by test_mpi.py."""

from __future__ import annotations

import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tapegrad as tg  # noqa: E402
import tapegrad.distributed as dist  # noqa: E402
from tapegrad.distributed import functional as fc  # noqa: E402

DTYPES = ("float32", "float64", "int32", "int64", "float16", "bfloat16")


def _value(rank, shape, dtype, salt=0):
    a = np.random.default_rng([rank, salt]).integers(-8, 9, size=shape)
    return a.astype(getattr(tg, dtype).np)


def collectives():
    r, w = dist.get_rank(), dist.get_world_size()
    everyone = lambda shape, dtype, salt=0: [_value(k, shape, dtype, salt) for k in range(w)]  # noqa: E731
    for dtype in DTYPES:
        xs = everyone((3, 4), dtype)
        wide = [x.astype(np.float64) for x in xs]
        for op, expect in (("sum", sum(wide)), ("max", np.max(wide, 0)), ("min", np.min(wide, 0))):
            t = tg.from_numpy(xs[r].copy())
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op.upper()))
            np.testing.assert_allclose(t.numpy().astype(np.float64), expect, err_msg=f"{op} {dtype}")
            assert t.dtype == getattr(tg, dtype)
        avg = tg.from_numpy(xs[r].copy())
        dist.all_reduce(avg, op=dist.ReduceOp.AVG)
        want = sum(wide) / w if "float" in dtype else np.trunc(sum(wide) / w)
        np.testing.assert_allclose(avg.numpy().astype(np.float64), want, rtol=1e-2, err_msg=f"avg {dtype}")
        b = tg.from_numpy(xs[r].copy())
        dist.broadcast(b, src=w - 1)
        np.testing.assert_array_equal(b.numpy(), xs[w - 1])
        outs = [tg.zeros(3, 4, dtype=getattr(tg, dtype)) for _ in range(w)]
        dist.all_gather(outs, tg.from_numpy(xs[r]))
        for k in range(w):
            np.testing.assert_array_equal(outs[k].numpy(), xs[k])
        big = everyone((2 * w, 3), dtype, salt=1)
        out = tg.zeros(2, 3, dtype=getattr(tg, dtype))
        dist.reduce_scatter_tensor(out, tg.from_numpy(big[r]))
        np.testing.assert_allclose(out.numpy().astype(np.float64),
                                   sum(x.astype(np.float64) for x in big)[2 * r : 2 * r + 2], err_msg=dtype)
    # not contiguous: a transposed view is reduced in place through its view
    base = tg.from_numpy(_value(r, (4, 3), "float64"))
    view = base.t()
    dist.all_reduce(view)
    np.testing.assert_allclose(base.numpy(), sum(_value(k, (4, 3), "float64") for k in range(w)))
    gathered = tg.zeros(2 * w, 3)
    dist.all_gather_into_tensor(gathered, tg.from_numpy(_value(r, (2, 3), "float64")))
    np.testing.assert_array_equal(gathered.numpy(), np.concatenate([_value(k, (2, 3), "float64") for k in range(w)]))
    dist.barrier()


def mismatch():
    """Rank 1 passes a different shape (then dtype): every rank gets an error naming both."""
    r = dist.get_rank()
    for t in (tg.zeros(3 if r == 0 else 4), tg.zeros(3, dtype=tg.float32 if r == 0 else tg.float64)):
        try:
            dist.all_reduce(t)
        except dist.DistributedError as e:
            msg = str(e)
            named = set(re.findall(r"rank (\d+)", msg))  # two ranks that disagree, one of them rank 0
            assert len(named) == 2 and "0" in named, msg
            assert ("(3,)" in msg and "(4,)" in msg) or ("float32" in msg and "float64" in msg), msg
        else:
            raise AssertionError("a mismatched all_reduce passed")
    dist.barrier()  # the group is still usable: the check runs before any data moves


def gradients():
    """vjp and jvp of every functional collective against the values the ranks compute together."""
    r, w = dist.get_rank(), dist.get_world_size()
    x = tg.tensor([1.0 + r, 2.0 * (r + 1)], requires_grad=True)
    # loss = sum_r c_r . all_reduce(x): d/dx_r = sum_k c_k on every rank
    c = tg.tensor([r + 1.0, 1.0])
    (fc.all_reduce(x, "sum") * c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [sum(k + 1.0 for k in range(w)), w])
    x.grad = None
    (fc.all_reduce(x, "avg") * c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [sum(k + 1.0 for k in range(w)) / w, 1.0])
    x.grad = None
    fc.all_reduce(x, "max").sum().backward()  # the last rank holds both maxima
    np.testing.assert_allclose(x.grad.numpy(), [w, w] if r == w - 1 else [0, 0])
    x.grad = None
    # all_gather: every rank reads every block; d/dx_r of sum_k sum(c_k * gathered) = sum_k c_k[block r]
    cg = tg.arange(2.0 * w) * (r + 1)
    (fc.all_gather_tensor(x, 0) * cg).sum().backward()
    total = sum(np.arange(2.0 * w) * (k + 1) for k in range(w))
    np.testing.assert_allclose(x.grad.numpy(), total[2 * r : 2 * r + 2])
    x.grad = None
    y = tg.arange(2.0 * w, requires_grad=True)
    (fc.reduce_scatter_tensor(y, "sum", 0) * (r + 1)).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), np.repeat(np.arange(1.0, w + 1), 2))
    (fc.broadcast(x, src=0) * (r + 1)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [w * (w + 1) / 2] * 2 if r == 0 else [0, 0])
    # the jvp (forward mode) of the linear ones is the collective of the tangent
    _, t = tg.jvp(lambda v: fc.all_reduce(v, "sum"), (tg.ones(2),), (tg.full((2,), float(r + 1)),))
    np.testing.assert_allclose(t.numpy(), [w * (w + 1) / 2] * 2)
    dist.barrier()


def jit():
    """The collectives as equations of a compiled graph, and the JAX idiom: all_reduce inside a jitted step."""
    r, w = dist.get_rank(), dist.get_world_size()
    f = tg.jit(lambda v: fc.all_reduce(v * 2, "sum") + fc.all_gather_tensor(v, 0).sum())
    v = tg.full((3,), float(r + 1))
    total = w * (w + 1) / 2
    for _ in range(2):
        np.testing.assert_allclose(f(v).numpy(), [2 * total + 3 * total] * 3)
    g = tg.grad(lambda v: fc.all_reduce(v, "sum").sum())
    np.testing.assert_allclose(tg.jit(g)(v).numpy(), [w] * 3)
    batched = tg.vmap(lambda v: fc.all_reduce(v, "sum"))(tg.ones(4, 3) * (r + 1))
    np.testing.assert_allclose(batched.numpy(), np.full((4, 3), total))


# *** the same training on 2 ranks with batch B and on 1 process with batch 2B ***

B, STEPS = 8, 20


def _data(n=B * 4):
    images, labels = tg.data.datasets.load_digits()
    x = (images[:n].astype(np.float32) / 16)[:, None]
    return tg.from_numpy(x), tg.from_numpy(labels[:n].astype(np.int64))


def _model(kind):
    from tapegrad import train

    tg.manual_seed(1 + dist.get_rank())  # different on every rank: DDP must copy rank 0's
    return train.build_model(kind, 8, 8, 10)


def _reference(kind, opt_name, x, y, w):
    """One process, batch w*B: what every rank's replica must end with."""
    tg.manual_seed(1)
    from tapegrad import train

    model = train.build_model(kind, 8, 8, 10)
    opt = _optimizer(opt_name, model.parameters())
    for s in range(STEPS):
        xb, yb = _batch(x, y, s, w)
        loss = tg.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.numpy() for p in model.parameters()]


def _optimizer(name, params):
    return tg.optim.SGD(params, lr=0.1, momentum=0.9) if name == "sgd" else tg.optim.Adam(params, lr=1e-2)


def _batch(x, y, step, w, rank=None):
    """The step's window of w*B rows (the data set holds two windows): rank's B rows of it, or (rank None)
    all of them, the single process's batch."""
    i = (step * w * B) % x.shape[0]
    i, size = (i, w * B) if rank is None else (i + rank * B, B)
    return x[i : i + size], y[i : i + size]


def _close(got, want, what):
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=2e-4, atol=2e-5, err_msg=what)


def ddp():
    r, w = dist.get_rank(), dist.get_world_size()
    x, y = _data(w * B * 2)
    for kind in ("mlp", "cnn"):
        for opt_name in ("sgd", "adam"):
            model = tg.nn.parallel.DistributedDataParallel(_model(kind), bucket_cap_mb=0.05)  # several buckets
            opt = _optimizer(opt_name, model.parameters())
            for s in range(STEPS):
                xb, yb = _batch(x, y, s, w, r)
                loss = tg.nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
            _close([p.numpy() for p in model.module.parameters()], _reference(kind, opt_name, x, y, w),
                   f"DDP {kind} {opt_name}")  # fmt: skip


def no_sync():
    """Two half-batches per rank, the first under no_sync: the same step as one batch of w*B."""
    r, w = dist.get_rank(), dist.get_world_size()
    x, y = _data(w * B * 2)
    model = tg.nn.parallel.DistributedDataParallel(_model("mlp"))
    opt = _optimizer("sgd", model.parameters())
    for s in range(STEPS):
        xb, yb = _batch(x, y, s, w, r)
        opt.zero_grad()
        with model.no_sync():
            (tg.nn.functional.cross_entropy(model(xb[: B // 2]), yb[: B // 2]) / 2).backward()
        (tg.nn.functional.cross_entropy(model(xb[B // 2 :]), yb[B // 2 :]) / 2).backward()
        opt.step()
    _close([p.numpy() for p in model.module.parameters()], _reference("mlp", "sgd", x, y, w), "no_sync")


def tf_idiom():
    r, w = dist.get_rank(), dist.get_world_size()
    x, y = _data(w * B * 2)
    tg.manual_seed(1)  # the TF idiom has no wrap-time broadcast: start every replica from one seed
    model = _model_seeded("mlp")
    opt = _optimizer("adam", model.parameters())
    params = list(model.parameters())
    for s in range(STEPS):
        xb, yb = _batch(x, y, s, w, r)
        with tg.GradientTape() as tape:
            loss = tg.nn.functional.cross_entropy(model(xb), yb)
        grads = dist.DistributedGradientTape(tape).gradient(loss, params)
        opt.apply_gradients(zip(grads, params))
    _close([p.numpy() for p in params], _reference("mlp", "adam", x, y, w), "TF idiom")


def _model_seeded(kind):
    from tapegrad import train

    tg.manual_seed(1)
    return train.build_model(kind, 8, 8, 10)


def jax_idiom():
    """A jitted function of the parameters: grads averaged with all_reduce inside the compiled graph."""
    r, w = dist.get_rank(), dist.get_world_size()
    x, y = _data(w * B * 2)
    model = _model_seeded("mlp")
    names = [n for n, _ in model.named_parameters()]
    params = {n: p.detach() for n, p in model.named_parameters()}

    def loss_fn(ps, xb, yb):
        return tg.nn.functional.cross_entropy(tg.func.functional_call(model, ps, (xb,)), yb)

    @tg.jit
    def step(ps, xb, yb):
        grads = tg.grad(loss_fn)(ps, xb, yb)
        return {n: ps[n] - 0.1 * fc.all_reduce(grads[n], "avg") for n in names}

    for s in range(STEPS):
        params = step(params, *_batch(x, y, s, w, r))
    ref_model = _model_seeded("mlp")
    ref = {n: p.detach() for n, p in ref_model.named_parameters()}
    for s in range(STEPS):
        g = tg.grad(loss_fn)(ref, *_batch(x, y, s, w))
        ref = {n: ref[n] - 0.1 * g[n] for n in names}
    _close([params[n].numpy() for n in names], [ref[n].numpy() for n in names], "JAX idiom")


# *** failures: each must end the whole job quickly ***


def raises():
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(tg.ones(3))  # rank 0 waits here until the abort ends it
    time.sleep(60)


def dies():
    if dist.get_rank() == 1:
        os.kill(os.getpid(), 9)
    dist.all_reduce(tg.ones(3))
    time.sleep(60)


def silent():
    """Rank 1 never joins the collective and stays alive: rank 0's wait times out ($TAPEGRAD_DIST_TIMEOUT)."""
    if dist.get_rank() == 1:
        time.sleep(60)
    dist.all_reduce(tg.ones(3))


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    dist.barrier()
    if dist.get_rank() == 0:
        print(f"{sys.argv[1]}: ok on {dist.get_world_size()} ranks")
