"""The trace model (nb 25, `trace_net`) on CPU: seconds per training step and per page, for candidate configs.

    python benchmarks/bench_trace_model.py [--threads N] [--steps 6] [--pages 2] [--only NAME ...] [--gpu]

For every candidate: parameters and fp16 size; the median wall and CPU (`time.process_time`) seconds of one
training step (batch 4 of 3 × 256 × 512 crops, forward + backward + AdamW, column-softmax CE on sparse rows, after
two warm-up steps); the best of `--pages` inferences of one 1700 × 2200 page (`torch.inference_mode`, eval).
CPU time counts all threads, so with N threads on an idle machine CPU ≈ N × wall; on a shared machine wall grows.
On the 2-core machine shared with other jobs, `--threads 1` measured 0.26 s a step and 0.85 s a page for `cpu`,
while 2 threads took 1.7–6.6 s a step when the other jobs were busy (0.18–0.22 s when they were quiet).
`--gpu` also builds the `gpu` config and prints its size (and times it on CUDA when there is one).
"""
import argparse, statistics, time

import torch

from ecgkit.models.registry import create_model

CANDIDATES = {            # name: trace_net keyword arguments
    'cpu': dict(config='cpu'),                                          # mobilenetv3_large_100 at 1/4
    'cpu-mnv3l075': dict(config='cpu', backbone='mobilenetv3_large_075'),
    'cpu-mnv3s': dict(config='cpu', backbone='mobilenetv3_small_100'),
    'cpu-r18': dict(config='cpu', backbone='resnet18', stem_channels=32, decoder_channels=(128, 64, 32, 32, 16)),
    'cpu-r18-3': dict(config='cpu', backbone='resnet18', out_indices=(0, 1, 2), decoder_channels=(64, 32, 24)),
    'cpu-k1': dict(config='cpu', stem_kernel=1),
    'cpu-k1-16': dict(config='cpu', stem_kernel=1, stem_channels=16, decoder_channels=(96, 48, 32, 16, 16)),
    'cpu-effb0': dict(config='cpu', backbone='efficientnet_b0'),
    'cpu-s2': dict(config='cpu', s2d=2, stem_channels=16, decoder_channels=(96, 48, 32, 24, 16)),
    'cpu-s8': dict(config='cpu', s2d=8, stem_kernel=1, stem_channels=32, decoder_channels=(96, 48, 32, 32, 32)),
}


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def bench(kw, steps, pages, device='cpu', page_hw=(1700, 2200)):
    torch.manual_seed(0)
    m = create_model('trace_net', **kw).to(device).train()
    n = sum(p.numel() for p in m.parameters())
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    x = torch.randn(4, 3, 256, 512, device=device)
    t = torch.rand(4, m.rows, 256, 512 * m.x_scale, device=device).softmax(2)
    def step():
        loss = -(t * m(x).log_softmax(2)).sum(2).mean()
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); float(loss.detach())
    st = [timed(step) for _ in range(steps + 2)][2:]
    m.eval(); pg = torch.rand(1, 3, *page_hw, device=device)
    def infer():
        with torch.inference_mode(): float(m(pg)[0, 0, 0, 0])
    pt = min(timed(infer) for _ in range(pages))
    return dict(params=n, fp16_mb=n * 2 / 1e6, step_wall=statistics.median(s[0] for s in st),
                step_cpu=statistics.median(s[1] for s in st), page_wall=pt[0], page_cpu=pt[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=torch.get_num_threads())
    ap.add_argument('--steps', type=int, default=6)
    ap.add_argument('--pages', type=int, default=2)
    ap.add_argument('--only', nargs='*', default=None)
    ap.add_argument('--gpu', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch threads {a.threads}")
    print(f"| candidate | params | fp16 | step wall / CPU s | page wall / CPU s |\n|---|---|---|---|---|")
    for name in a.only or CANDIDATES:
        r = bench(CANDIDATES[name], a.steps, a.pages)
        print(f"| {name} | {r['params'] / 1e6:.2f} M | {r['fp16_mb']:.1f} MB | {r['step_wall']:.2f} / {r['step_cpu']:.2f}"
              f" | {r['page_wall']:.2f} / {r['page_cpu']:.2f} |", flush=True)
    if a.gpu:
        g = create_model('trace_net', config='gpu'); n = sum(p.numel() for p in g.parameters())
        print(f"gpu config: {n / 1e6:.2f} M params, {n * 2 / 1e6:.1f} MB fp16")
        if torch.cuda.is_available():
            r = bench(dict(config='gpu'), a.steps, a.pages, 'cuda')
            print(f"gpu config on CUDA: step {r['step_wall']:.3f} s, page {r['page_wall']:.3f} s (fp32)")


if __name__ == '__main__':
    main()
