"""Stage 0, classic and learned, on every devset image of a half in all 8 orientations (4 turns × mirror): how many
each one puts upright, how far the learned markers' homography lands from ECG-image-kit's pixels, and the seconds
per image. The digitizer's score per stage-0 choice is `bench_digitize.py --stage0 classic|learned|auto`.

    .venv/bin/python benchmarks/bench_markers.py --half odd        # never trained on (the README's numbers)
    .venv/bin/python benchmarks/bench_markers.py --half even

Readers: `classic` is `upright` as the digitizer runs it (4 turns; mirrors are not undone), `classic+flip` with its
mirror cue on, `learned` is `LearnedMarkers` (the shipped `ecgkit/weights/markers`, or `--weights`), `auto` the
classic turn with the learned one where the classic is unsure (`AutoUpright`, what `--method auto` runs)."""
import argparse, sys, time
from pathlib import Path

import numpy as np
import pandas as pd

from ecgkit.core import WorkerPool
from ecgkit.data import read_record_csv
from ecgkit.digitize.digitizer import _init_worker
from ecgkit.digitize.image import dihedral, load_image
from ecgkit.digitize.learned import AutoUpright, LearnedMarkers, weights_dir
from ecgkit.digitize.page import upright
from ecgkit.paper import kit_errors

from bench_robust import SHARED, half_images      # (benchmarks/ is the script's folder)

READERS = ('classic', 'classic+flip', 'learned', 'auto')


_LEARNED = {}                                 # per worker: the weights load once, not once per image


def _init():
    _init_worker()
    import torch; torch.set_num_threads(1)


def _one(job):
    "One image in its 8 orientations through every reader: right or not, per reader and orientation; the learned registration."
    path, rid, t, fs, root, wdir = job
    lm = _LEARNED.get(wdir) or _LEARNED.setdefault(wdir, LearnedMarkers(wdir))
    readers = dict(zip(READERS, (upright, lambda x: upright(x, detect_flip=True), lm, AutoUpright(lm))))
    img = load_image(path)
    rows, secs = [], []
    for o in range(8):
        x = dihedral(img, o)
        for name, f in readers.items():
            t0 = time.perf_counter(); up, info = f(x); dt = time.perf_counter() - t0
            if name == 'learned': secs.append(dt)
            rows.append(dict(id=rid, type=t, o=o, reader=name, ok=up.shape == img.shape and np.array_equal(up[::7, ::7], img[::7, ::7]),
                             sure=bool(info.get('turn_sure', True)), p=info.get('orient_p', np.nan)))
    _, info = lm(img)                         # the upright image: its markers' homography against the kit's pixels
    reg = np.full(1, np.nan)
    js = Path(path).with_suffix('.json.gz')
    if info['markers_H'] is not None and js.is_file():
        import cv2
        H = np.asarray(info['markers_H'])     # kit pixels are in the paper's convention (index + 0.5): to index, map, back
        truth = read_record_csv(Path(root)/rid/f"{rid}.csv", id=rid, fs=fs)
        reg = kit_errors(js, truth, to_page=lambda xy: cv2.perspectiveTransform(np.asarray(xy, np.float64)[None] - 0.5, H)[0] + 0.5)
    return rows, dict(id=rid, type=t, found=info['markers_found'], inliers=info['markers_inliers'],
                      reg_p50=float(np.nanpercentile(reg, 50)) if np.isfinite(reg).any() else np.nan,
                      reg_p95=float(np.nanpercentile(reg, 95)) if np.isfinite(reg).any() else np.nan, seconds=float(np.mean(secs)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--data', default=str(SHARED/'devset'))
    ap.add_argument('--half', choices=('all', 'even', 'odd'), default='odd')
    ap.add_argument('--types', nargs='*', default=None)
    ap.add_argument('--limit', type=int, default=0, help='at most this many records')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--weights', help='a weights folder holding markers/ (default: $ECGKIT_WEIGHTS, then the shipped ones)')
    ap.add_argument('--out', help='folder for orientation.csv and registration.csv')
    a = ap.parse_args(argv)
    wdir = weights_dir('markers', a.weights)
    if wdir is None: sys.exit("no markers weights found: train them (README: Stage 0) or give --weights")
    data, ids, fs, ims = half_images(a.data, a.half, a.limit, a.types)
    print(f"{a.data} · records: {a.half} ({len(ids)}) · {len(ims)} images × 8 orientations · weights {wdir}", flush=True)
    jobs = [(p, rid, t, int(fs[rid]), str(data.train_dir), str(wdir)) for rid, t, p in ims.itertuples(index=False)]
    with WorkerPool(a.workers, _init) as ex: res = list(ex.map(_one, jobs))
    rows = pd.DataFrame([r for rs, _ in res for r in rs]); reg = pd.DataFrame([g for _, g in res])
    rows['turns'] = rows['o'] < 4
    def acc(d): return f"{int(d['ok'].sum())}/{len(d)}"
    tab = pd.DataFrame({(r, w): {t: acc(d[(d['reader'] == r) & (d['turns'] if w == '4 turns' else True)]) for t, d in [*rows.groupby('type'), ('all', rows)]}
                        for r in READERS for w in ('4 turns', '8 ways')})
    print("\nimages put upright, per reader: of the 4 turns, of all 8 orientations\n" + tab.to_string())
    c, l = (rows[rows['reader'] == r].set_index(['id', 'type', 'o']) for r in ('classic', 'learned'))
    print("\nauto's rule, learned where its 8-look probability >= sure, classic elsewhere (how model.json's `auto.sure` was chosen, on the even half):\n"
          + '  '.join(f"sure {t}: {int(np.where(l['p'] >= t, l['ok'], c['ok']).sum())}/{len(l)}" for t in (0.5, 0.7, 0.8, 0.9, 0.95)))
    bad = rows[(rows['reader'] == 'learned') & ~rows['ok']]
    if len(bad): print("\nlearned misses: " + ', '.join(f"{i}-{t} o={o}" for i, t, o in bad[['id', 'type', 'o']].itertuples(index=False)))
    g = reg.groupby('type')[['found', 'inliers', 'reg_p50', 'reg_p95']].median()
    g.loc['all'] = reg[['found', 'inliers', 'reg_p50', 'reg_p95']].median()
    print("\nlearned markers on the upright image: labels found and RANSAC inliers (of 13), and their homography's error\n"
          "against ECG-image-kit's pixels (px on the page; median over images of each image's p50 / p95)\n" + g.round(2).to_string())
    print(f"\nlearned stage 0: {reg['seconds'].mean():.3f} s per image per worker (load excluded)")
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        rows.to_csv(Path(a.out)/'orientation.csv', index=False); reg.to_csv(Path(a.out)/'registration.csv', index=False)


if __name__ == '__main__': main()
