"""Synthesizer speed and memory, one core, 200 dpi: seconds per image and images/s for every image type.

    python benchmarks/bench_synth.py [--n 5] [--types 0001,0003,...]

Times `synth_image` (render + augmentation) and, separately, PNG encoding + label saving; prints peak RSS.
Reference (ECG-image-kit on this machine, one core): 1.5 s per clean image, 3.1 s with wrinkles, 3.8 s with
rotation + noise. Targets: <= 0.15 s clean, <= 0.4 s any augmented type, <= 600 MB per worker.
"""
import argparse, io, os, resource, time
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
import cv2
cv2.setNumThreads(1)
import numpy as np
from ecgkit.data import find_competition, sample_dir
from ecgkit.synth.build import make_print, seeds, synth_image
from ecgkit.synth.render import TYPES

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=5, help='images per type')
    ap.add_argument('--types', default=','.join(TYPES))
    a = ap.parse_args()
    data = find_competition(sample_dir())
    recs = [data.record(i) for i in data.train()['id']]
    print(f"{'type':>5} {'s/image':>8} {'images/s':>9} {'encode+save s':>14}")
    for t in a.types.split(','):
        synth_image(*make_print(recs[0], seeds(0, 0)), t, seeds(0, 1))        # warm-up (fonts, imports)
        times, enc = [], []
        for k in range(a.n):
            drawn, style = make_print(recs[k % len(recs)], seeds(1, k))
            t0 = time.perf_counter(); img, lab = synth_image(drawn, style, t, seeds(1, k, 9)); times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cv2.imencode('.png', img[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 3]); lab.save(io.BytesIO())
            enc.append(time.perf_counter() - t0)
        m = float(np.mean(times))
        print(f"{t:>5} {m:8.3f} {1 / m:9.2f} {np.mean(enc):14.3f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
