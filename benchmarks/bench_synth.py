"""Synthesizer speed, one worker, 200 dpi, per image type: in memory and end to end, against the targets.

    python benchmarks/bench_synth.py [--n 5] [--types 0001,0003,...] [--seed 1]

Per type, `--n` images (the bundled records in turn, one print each), after one warm-up image:
  (a) in memory: `synth_image` (render + augment), what training uses;
  (b) end to end: exactly what `ecgkit synth` does per image: `synth_image`, then build's own `_save_image`
      (PNG + `.labels.npz`, each written atomically) into a temporary folder;
  (c) the PNG and labels megabytes per image, and the write alone (b - a);
  (d) the peak RSS of this process so far.
Seconds are wall-clock means with the CPU time (`time.process_time`) beside them: on a shared machine the CPU
time is the better estimate of a quiet one. Targets: end to end <= 0.25 s clean (0001), <= 0.6 s augmented; in
memory <= 0.15 s clean, <= 0.35 s augmented. Reference (ECG-image-kit, one core): 1.5 s per clean image, 3.1 s
with wrinkles, 3.8 s with rotation + noise. A row meets its targets when both CPU means are within them.
"""
import argparse, os, resource, tempfile, time
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
from pathlib import Path
import cv2
cv2.setNumThreads(1)
import numpy as np
from ecgkit.data import find_competition, sample_dir
from ecgkit.synth.build import _save_image, make_print, seeds, synth_image
from ecgkit.synth.render import TYPES

TARGETS = {True: (0.15, 0.25), False: (0.35, 0.6)}            # clean?: (in memory, end to end) s per image
KIT = {True: '1.5', False: '3.1-3.8'}                          # ECG-image-kit, s per image

def _clock(): return time.perf_counter(), time.process_time()

def bench_type(t: str, recs, n: int, seed: int, out: Path) -> dict:
    "Means over `n` images of type `t`: in-memory and end-to-end seconds (wall, CPU), PNG and labels MB."
    drawn, style = make_print(recs[0], seeds(seed, 99))
    _save_image(out, 'warmup', t, *synth_image(drawn, style, t, seeds(seed, 99, 9)))   # fonts, imports, caches
    rows = []
    for k in range(n):
        drawn, style = make_print(recs[k % len(recs)], seeds(seed, k))
        w0, c0 = _clock()
        img, lab = synth_image(drawn, style, t, seeds(seed, k, TYPES.index(t)))
        w1, c1 = _clock()
        _save_image(out, str(k), t, img, lab)
        w2, c2 = _clock()
        rows.append((w1 - w0, c1 - c0, w2 - w0, c2 - c0, (out/f'{k}-{t}.png').stat().st_size / 1e6,
                     (out/f'{k}-{t}.labels.npz').stat().st_size / 1e6))
    m = np.mean(rows, 0)
    return dict(zip(('mem_wall', 'mem_cpu', 'e2e_wall', 'e2e_cpu', 'png_mb', 'labels_mb'), m))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=5, help='images per type')
    ap.add_argument('--types', default=','.join(TYPES))
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    data = find_competition(sample_dir())
    recs = [data.record(i) for i in data.train()['id']]
    print(f"one worker, {a.n} image(s) per type; seconds per image: wall (CPU)\n")
    print(f"{'type':>5} | {'in memory':>15} {'target':>6} | {'end to end':>15} {'target':>6} | {'write':>6} | "
          f"{'PNG MB':>6} {'labels MB':>9} | {'peak RSS':>8} | {'ECG-image-kit':>13} | targets")
    with tempfile.TemporaryDirectory() as tmp:
        for t in a.types.split(','):
            clean = t == '0001'
            r = bench_type(t, recs, a.n, a.seed, Path(tmp))
            tm, te = TARGETS[clean]
            ok = r['mem_cpu'] <= tm and r['e2e_cpu'] <= te
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{t:>5} | {r['mem_wall']:6.3f} ({r['mem_cpu']:5.3f}) {tm:6.2f} | {r['e2e_wall']:6.3f} ({r['e2e_cpu']:5.3f}) {te:6.2f} | "
                  f"{r['e2e_cpu'] - r['mem_cpu']:6.3f} | {r['png_mb']:6.2f} {r['labels_mb']:9.2f} | {rss:5.0f} MB | "
                  f"{KIT[clean] + ' s':>13} | {'met' if ok else 'NOT met'}", flush=True)
            for f in Path(tmp).iterdir(): f.unlink()

if __name__ == '__main__':
    main()
