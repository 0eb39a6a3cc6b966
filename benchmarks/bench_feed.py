"""Speed of the on-the-fly training feed (`PageFeed`): pages/s through a torch `DataLoader`, and CPU s per page.

    python benchmarks/bench_feed.py [--n 32] [--workers 2] [--batch 8] [--types 0001,0003,...] [--modes crop-view,...]

Modes (every item: a generated record, a type drawn from --types, any of the 8 orientations, scale 0.3x-4x):
  crop-view   512² crop of the page-frame view (labels' page map inverted, ±0.5 px / ±0.5 % misregistration)
              + its sparse trace target: what the trace stage trains on
  crop-image  512² crop of the image at its scale (only the window is resampled): markers / grid stages
  full-view   the whole page-frame view (1700 x 2200) + its sparse trace target
  full-image  the whole image at scale 1 (batch 1: sizes differ with the orientation)
For each mode: CPU s per page in this process (`time.process_time`, one thread, no loader), then pages/s through a
DataLoader with --workers workers (wall clock, the first batch excluded: it pays the workers' start-up), the
workers' CPU s per page (their rusage once joined) and the rate that CPU time allows on --workers quiet cores
(workers / worker CPU s per page; an upper bound that ignores the main process's collation).
Target (issue 14): >= 4 pages/s for crops with 2 workers. On a machine shared with other jobs the wall numbers
are low; the CPU s per page says what a quiet core does (2 workers on 2 quiet cores: about 2 / CPU s pages/s).
"""
import argparse, os, resource, time
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
import cv2
cv2.setNumThreads(1)
import numpy as np
import torch
from torch.utils.data import DataLoader
from ecgkit.core import seed_worker
from ecgkit.synth.augment import AugConfig
from ecgkit.synth.dataset import PageFeed
from ecgkit.synth.render import TYPES
from ecgkit.synth.signals import generated_records

MODES = {'crop-view': dict(crop=512, view='labels', scale=(0.3, 4.0)),
         'crop-image': dict(crop=512, view=None, scale=(0.3, 4.0)),
         'full-view': dict(crop=None, view='labels', scale=(0.3, 4.0)),
         'full-image': dict(crop=None, view=None, scale=(1.0, 1.0))}
TARGET = 4.0


def _init(worker_id):
    seed_worker(worker_id)
    cv2.setNumThreads(1); torch.set_num_threads(1)


def feed(mode, types, n, seed=0):
    return PageFeed(generated_records(64, seed=seed), types=types, length=n, seed=seed,
                    aug_cfg=AugConfig(rot90_prob=0.75, flip_prob=0.5), **MODES[mode])


def in_process(ds, k):
    "CPU and wall seconds per page over items 0..k-1 of `ds`, in this process."
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(k): ds[i]
    return (time.process_time() - c0) / k, (time.perf_counter() - w0) / k


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def through_loader(ds, workers, batch):
    "Pages/s through a DataLoader, timed from the end of the first batch; pages timed; the workers' CPU s per page."
    dl = DataLoader(ds, batch_size=batch, num_workers=workers, worker_init_fn=_init if workers else None,
                    persistent_workers=False, prefetch_factor=2 if workers else None)
    c0 = _children_cpu()
    it, n = iter(dl), 0
    first = next(it)
    t0 = time.perf_counter()
    for b in it: n += len(b['type'])
    dt = time.perf_counter() - t0
    del it                                                   # exhausted: the workers are joined, their CPU time counted
    assert first['type'].numel() > 0
    return (n / dt if n else float('nan')), n, (_children_cpu() - c0) / (n + len(first['type']))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=32, help='pages per mode through the loader (plus one batch of warm-up)')
    ap.add_argument('--cpu-n', type=int, default=6, help='pages per mode timed in process')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--types', default=','.join(TYPES))
    ap.add_argument('--modes', default=','.join(MODES))
    a = ap.parse_args(argv)
    types = tuple(a.types.split(','))
    print(f"types {','.join(types)} · all 8 orientations · {a.workers} workers · batch {a.batch} · {os.cpu_count()} CPUs seen")
    print(f"{'mode':>11} {'CPU s/page':>11} {'wall s/page':>12} {'pages/s (loader)':>17} {'pages':>6} "
          f"{'worker CPU s/page':>18} {'quiet est. pages/s':>19}  target")
    feed('crop-view', types, 2)[0]                                           # warm-up: fonts, imports
    for mode in a.modes.split(','):
        batch = 1 if mode == 'full-image' else a.batch
        cpu, wall = in_process(feed(mode, types, a.cpu_n, seed=1), a.cpu_n)
        rate, n, wcpu = through_loader(feed(mode, types, a.n + batch, seed=2), a.workers, batch)
        quiet = max(a.workers, 1) / wcpu if wcpu > 0 else float('nan')
        goal = f">= {TARGET:g} pages/s: {'met' if rate >= TARGET else 'NOT met'} as measured" if mode.startswith('crop') else ''
        print(f"{mode:>11} {cpu:11.3f} {wall:12.3f} {rate:17.2f} {n:6d} {wcpu:18.3f} {quiet:19.2f}  {goal}", flush=True)


if __name__ == '__main__':
    main()
