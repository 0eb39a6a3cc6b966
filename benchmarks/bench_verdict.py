"""Choose the digitizer's `Limits` (when a read is refused for zeros, when it is kept but doubtful) on GENERATED
images, never on the devset: each image is read upright and upside down (stage 0 told not to turn it, the way a
wrong turn reads), with no limit applied; per read its stage-1 grid quality, share of columns found, consistency
(what the page prints twice agreeing) and score; then what each refusal threshold does to both.

    .venv/bin/ecgkit synth --generated 12 --types 0001,0003,0004,0005,0009 --seed 321 --rot90-prob 0 --out runs/gen_verdict
    .venv/bin/python benchmarks/bench_verdict.py runs/gen_verdict [runs/gen_thr ...]"""
import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from ecgkit.data import find_competition, find_images, read_record_csv
from ecgkit.digitize.digitizer import Digitizer, DigitizeError, Limits
from ecgkit.digitize.evaluate import score_record
from ecgkit.digitize.image import load_image

RAW = Digitizer(stage0=lambda src: (load_image(src), {'turn_sure': True}), limits=Limits(fail_consistency=-2.))


def _reads(job):
    import cv2; cv2.setNumThreads(1)
    path, rid, t, fs, root = job
    truth = read_record_csv(f"{root}/{rid}/{rid}.csv", id=rid, fs=fs)
    img, out = load_image(path), []
    for kind, x in (('upright', img), ('upside down', np.ascontiguousarray(img[::-1, ::-1]))):
        try: r = RAW.run(x, fs, None, rid); err = ''
        except DigitizeError as e: r, err = e.result, str(e)
        if r is None: continue
        out.append(dict(id=rid, type=t, kind=kind, failed=bool(err), quality=r.info['quality'], ink_frac=r.info['ink_frac'],
                        consistency=r.info['consistency'], db=score_record(truth, None if err else r.record).score_db))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('folders', nargs='+'); ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args(argv)
    jobs = []
    for f in a.folders:
        data = find_competition(f, search=(), depth=1); fs = data.train().set_index('id')['fs']
        jobs += [(p, rid, t, int(fs[rid]), str(data.train_dir)) for rid, t, p in find_images(data.train_dir).itertuples(index=False)]
    with ProcessPoolExecutor(a.workers) as ex: df = pd.DataFrame([d for o in ex.map(_reads, jobs) for d in o])
    up, dn = df[df.kind == 'upright'], df[df.kind == 'upside down']
    print(f"{len(jobs)} generated images; upright reads: {up['db'].mean():.2f} dB mean, consistency median {up['consistency'].median():.2f}; "
          f"upside-down reads: {dn['db'].mean():.2f} dB, consistency median {dn['consistency'].median():.2f}")
    print("\nconsistency of the upright reads by score\n" + up.groupby(pd.cut(up['db'], [-30, 0, 5, 10, 15, 40]), observed=True)['consistency']
          .describe()[['count', '25%', '50%', '75%']].round(2).to_string())
    print("\nrefuse below | upright: mean dB, refused (of them > 0 dB) | upside down: kept, mean dB")
    for th in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        z = lambda d: np.where(d['consistency'] < th, 0.0, d['db'])
        print(f"  {th:.1f} | {z(up).mean():6.2f}  {int((up['consistency'] < th).sum()):3d} ({int(((up['consistency'] < th) & (up['db'] > 0)).sum()):2d})"
              f" | {int((dn['consistency'] >= th).sum()):3d}  {z(dn).mean():6.2f}")
    L = Limits(); kept = up[~up['failed'] & (up['consistency'] >= L.fail_consistency)]
    dbt = kept.apply(lambda r: bool(L.doubts(dict(r))), axis=1)
    print(f"\nwith the default Limits: {int(dbt.sum())} of {len(kept)} kept upright reads doubtful (median {kept[dbt]['db'].median():.2f} dB), "
          f"the others median {kept[~dbt]['db'].median():.2f} dB; below 0 dB and not doubtful: {int(((kept['db'] < 0) & ~dbt).sum())}")


if __name__ == '__main__': main()
