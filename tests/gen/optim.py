"""Reference fixtures for optimizers, LR schedules and gradient clipping:
/usr/bin/python3 tests/gen/optim.py  ->  tests/fixtures/optim.json

Optimizers: the parameters of a Linear(3, 4) (weight decayed, bias in a no-decay group
as Nerve's NERVE_PARAM_NO_DECAY), gradients of the fixed quadratic
0.5 * sum(a * (p - c)^2), i.e. grad = a * (p - c), recomputed by the C test from a and
c; the learning rate changes every step (lr_k = lr * (1 - 0.05 k)) the way a schedule
drives it. Parameters after each of the 10 steps are recorded."""
import torch

from fixture import write

SEED = 777
torch.manual_seed(SEED)
cases = {}
STEPS = 10

w0 = torch.randn(4, 3)
b0 = torch.randn(4)
aw, ab = torch.rand(4, 3) * 1.5 + 0.5, torch.rand(4) * 1.5 + 0.5
cw, cb = torch.randn(4, 3), torch.randn(4)


def opt_case(name, cls, lr, cfg, decay):
    w = w0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    groups = [{"params": [w], "weight_decay": decay}, {"params": [b], "weight_decay": 0.0}]
    opt = cls(groups, lr=lr, **cfg)
    ws, bs, lrs = [], [], []
    for k in range(STEPS):
        step_lr = lr * (1 - 0.05 * k)
        for g in opt.param_groups:
            g["lr"] = step_lr
        w.grad = aw * (w.detach() - cw)
        b.grad = ab * (b.detach() - cb)
        opt.step()
        ws.append(w.detach().clone())
        bs.append(b.detach().clone())
        lrs.append(step_lr)
    config = {"lr": lr, "weight_decay": decay}
    for k, v in cfg.items():
        if k == "betas":
            config["beta1"], config["beta2"] = v
        else:
            config[k] = float(v) if not isinstance(v, bool) else int(v)
    cases[name] = (config, {"w0": w0, "b0": b0, "aw": aw, "ab": ab, "cw": cw, "cb": cb,
                            "lrs": torch.tensor(lrs), "w": torch.stack(ws), "b": torch.stack(bs)})


opt_case("sgd", torch.optim.SGD, 0.1, {}, 0.0)
opt_case("sgd_momentum", torch.optim.SGD, 0.1, {"momentum": 0.9, "dampening": 0.1}, 0.0)
opt_case("sgd_nesterov", torch.optim.SGD, 0.1, {"momentum": 0.9, "nesterov": True}, 0.0)
opt_case("sgd_decay", torch.optim.SGD, 0.1, {"momentum": 0.5}, 0.05)
opt_case("adagrad", torch.optim.Adagrad, 0.1, {"initial_accumulator_value": 0.1, "eps": 1e-10}, 0.01)
opt_case("adam", torch.optim.Adam, 0.05, {"betas": (0.9, 0.99), "eps": 1e-8}, 0.01)
opt_case("adamw", torch.optim.AdamW, 0.05, {"betas": (0.9, 0.999), "eps": 1e-8}, 0.1)

# ---- learning-rate schedules: the lr in use at steps 0..30 ----------------------------
sched = torch.optim.lr_scheduler


def sched_case(name, config, make):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=config["base_lr"])
    s = make(opt)
    lrs = []
    for _ in range(31):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    cases[name] = (config, {"lr": torch.tensor(lrs, dtype=torch.float64)})


sched_case("sched_step", {"type": 1, "base_lr": 0.1, "step_size": 7, "gamma": 0.5},
           lambda o: sched.StepLR(o, step_size=7, gamma=0.5))
sched_case("sched_cosine", {"type": 2, "base_lr": 0.1, "total_steps": 30, "min_lr": 0.001},
           lambda o: sched.CosineAnnealingLR(o, T_max=30, eta_min=0.001))
sched_case("sched_linear", {"type": 0, "base_lr": 0.2, "warmup_steps": 8, "warmup_start_factor": 0.25},
           lambda o: sched.LinearLR(o, start_factor=0.25, total_iters=8))
sched_case("sched_warmup_cosine",
           {"type": 2, "base_lr": 0.1, "warmup_steps": 5, "warmup_start_factor": 0.1, "total_steps": 30,
            "min_lr": 0.0},
           lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.1, total_iters=5),
                                            sched.CosineAnnealingLR(o, T_max=25)], milestones=[5]))
sched_case("sched_warmup_step",
           {"type": 1, "base_lr": 0.05, "warmup_steps": 4, "warmup_start_factor": 0.5, "step_size": 6,
            "gamma": 0.3},
           lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.5, total_iters=4),
                                            sched.StepLR(o, step_size=6, gamma=0.3)], milestones=[4]))

# ---- clip_grad_norm_ -----------------------------------------------------------------
for name, max_norm in (("clip", 1.0), ("clip_noop", 100.0)):
    w = torch.zeros(4, 3, requires_grad=True)
    b = torch.zeros(4, requires_grad=True)
    w.grad = torch.randn(4, 3) * 3
    b.grad = torch.randn(4) * 3
    gw, gb = w.grad.clone(), b.grad.clone()
    norm = torch.nn.utils.clip_grad_norm_([w, b], max_norm)
    cases[name] = ({"max_norm": max_norm}, {"gw": gw, "gb": gb, "norm": norm, "cw": w.grad, "cb": b.grad})

write("optim", SEED, cases)
