"""The schedulers against PyTorch's over 100 steps: the lr of every group (and the momentum that OneCycleLR
cycles), state_dict round trips, errors."""

import math

import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")

SCHEDULERS = {
    "step": ("StepLR", dict(step_size=7, gamma=0.5)),
    "multistep": ("MultiStepLR", dict(milestones=[10, 30, 30, 80], gamma=0.3)),
    "cosine": ("CosineAnnealingLR", dict(T_max=30, eta_min=0.001)),
    "linear": ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=40)),
    "lambda": ("LambdaLR", dict(lr_lambda=lambda e: 0.95**e)),
    "onecycle": ("OneCycleLR", dict(max_lr=0.5, total_steps=101)),
    "onecycle_3phase_linear": ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=101, three_phase=True,
                                                  anneal_strategy="linear")),
}


def _groups(lib):
    P = tg.nn.Parameter if lib is tg else torch.nn.Parameter
    return [{"params": [P(lib.zeros(2))]}, {"params": [P(lib.zeros(2))], "lr": 0.05}]


def _trace(lib, opt_name, sched_name, kw, steps=100):
    opt = getattr(lib.optim, opt_name)(_groups(lib), lr=0.1, **({"momentum": 0.9} if opt_name == "SGD" else {}))
    sched = getattr(lib.optim.lr_scheduler, sched_name)(opt, **kw)
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append([g["lr"] for g in opt.param_groups] + [g.get("momentum", g.get("betas", (0,))[0])
                                                          for g in opt.param_groups])
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return out


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_matches_torch_over_100_steps(name, opt_name):
    cls, kw = SCHEDULERS[name]
    ours, ref = _trace(tg, opt_name, cls, kw), _trace(torch, opt_name, cls, kw)
    for step, (a, b) in enumerate(zip(ours, ref)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"step {step}"


def test_reduce_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.91, 0.92, 0.93, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.95, 0.99] * 4
    for kw in (dict(patience=2, factor=0.5), dict(mode="max", patience=1, cooldown=2, threshold_mode="abs",
                                                   threshold=0.01, min_lr=0.01)):
        runs = []
        for lib in (tg, torch):
            opt = lib.optim.SGD(_groups(lib), lr=0.1)
            sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
            lrs = []
            for m in metrics:
                sched.step(m)
                lrs.extend(g["lr"] for g in opt.param_groups)
            runs.append(lrs)
        assert runs[0] == pytest.approx(runs[1])


def test_state_dict_round_trip():
    def make():
        opt = tg.optim.SGD(_groups(tg), lr=0.1)
        return opt, tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)

    opt, sched = make()
    for _ in range(7):
        sched.step()
    opt2, sched2 = make()
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    for _ in range(5):
        sched.step(), sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert "optimizer" not in sched.state_dict()


def test_resume_with_last_epoch():
    opt = tg.optim.SGD(_groups(tg), lr=0.1)
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * 5 / 10)) / 2)


def test_errors():
    opt = tg.optim.SGD(_groups(tg), lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        tg.optim.lr_scheduler.StepLR(opt, 3, last_epoch=5)
    with pytest.raises(ValueError, match="total_steps"):
        tg.optim.lr_scheduler.OneCycleLR(opt, 0.1)
    sched = tg.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=2)
    sched.step(), sched.step()
    with pytest.raises(ValueError, match="more than total_steps=2"):
        sched.step()
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        tg.optim.lr_scheduler.OneCycleLR(tg.optim.Adagrad(_groups(tg)), 0.1, total_steps=5)
    with pytest.raises(ValueError, match="factor must be < 1"):
        tg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(TypeError, match="Optimizer"):
        tg.optim.lr_scheduler.StepLR(object(), 3)
