"""Training speed on CPU: a resnet18 UNet at 512², XLA's CPU device vs eager for a small timm model, resume overhead.

    python benchmarks/bench_learner.py [--steps 5] [--size 512] [--threads N] [--no-xla]

1. steps/s of `ecgkit.models`' U-Net (timm resnet18 `features_only` encoder + our decoder), batch 2,
   `--size`² inputs, AdamW, BCE on a random mask; eager CPU, after one warm-up step.
2. steps/s of resnet10t (batch 8, 32²) eager vs on XLA's CPU device (`PJRT_DEVICE=CPU`, in a subprocess so torch_xla
   never enters this process); XLA's first two steps (graph compiles) are reported apart.
3. resume overhead: save + load of a checkpoint of the UNet (model, AdamW state, RNG), to a file, and back into the
   model and optimizer.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

import torch
import torch.nn.functional as F


def bench_unet(size, steps, batch=2):
    torch.manual_seed(0)
    from ecgkit.models.registry import create_model
    m = create_model('unet', backbone='resnet18', num_classes=1).train()   # the kit's own U-Net
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    x, y = torch.randn(batch, 3, size, size), (torch.rand(batch, 1, size, size) > 0.5).float()
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = F.binary_cross_entropy_with_logits(m(x), y)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        float(loss.detach())
        times.append(time.perf_counter() - t0)
    return m, opt, times[1:]


def bench_resume(m, opt, reps=3):
    st = lambda: dict(model=m.state_dict(), optimizer=opt.state_dict(), rng=torch.get_rng_state())
    saves, loads = [], []
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'latest.pt'
        for _ in range(reps):
            t0 = time.perf_counter(); tmp = p.with_suffix('.tmp'); torch.save(st(), tmp); os.replace(tmp, p)
            t1 = time.perf_counter()
            ck = torch.load(p, map_location='cpu', weights_only=True)
            m.load_state_dict(ck['model']); opt.load_state_dict(ck['optimizer']); torch.set_rng_state(ck['rng'])
            t2 = time.perf_counter()
            saves.append(t1 - t0); loads.append(t2 - t1)
        size = p.stat().st_size
    return min(saves), min(loads), size


def timm_steps(device, steps):
    env = {**os.environ, 'PJRT_DEVICE': 'CPU', 'PYTHONWARNINGS': 'ignore'}
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, '-m', 'ecgkit.train.testing', 'timm', '--device', device, '--out', d,
                            '--steps', str(steps), '--batch-size', '8', '--size', '32'],
                           capture_output=True, text=True, env=env, timeout=600)
        if r.returncode: raise SystemExit(r.stderr[-3000:])
        return json.loads((Path(d)/'result.json').read_text())['step_s']


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--threads', type=int, default=torch.get_num_threads())
    ap.add_argument('--no-xla', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ['OMP_NUM_THREADS'] = str(a.threads)                 # for the subprocesses
    print(f'torch {torch.__version__}, {a.threads} threads')
    m, opt, t = bench_unet(a.size, a.steps)
    n = sum(p.numel() for p in m.parameters())
    print(f'UNet resnet18 {a.size}² batch 2 ({n / 1e6:.1f} M params), eager CPU: {1 / (sum(t) / len(t)):.3f} steps/s '
          f'({sum(t) / len(t):.2f} s/step over {len(t)} steps)')
    s, l, size = bench_resume(m, opt)
    print(f'resume overhead (model + AdamW + RNG, {size / 2**20:.0f} MiB): save {s:.3f} s, load {l:.3f} s, '
          f'total {s + l:.3f} s ({(s + l) / (sum(t) / len(t)):.2f} UNet steps)')
    k = 12
    e = timm_steps('cpu', k)[1:]
    print(f'resnet10t 32² batch 8, eager CPU: {len(e) / sum(e):.1f} steps/s')
    if not a.no_xla:
        x = timm_steps('xla', k)
        print(f'resnet10t 32² batch 8, XLA CPU device: {len(x[2:]) / sum(x[2:]):.1f} steps/s after compiles of '
              f'{x[0]:.1f} s (step 0) and {x[1]:.1f} s (step 1, AdamW state)')
