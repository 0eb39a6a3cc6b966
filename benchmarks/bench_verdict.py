"""Choose the digitizer's `Limits` (when a read is refused for zeros, when it is kept but doubtful) on GENERATED
images, never on the devset: each image is read upright and upside down (stage 0 told not to turn it, the way a
wrong turn reads), with no limit applied; per read its stage-1 grid quality, share of columns found, the best and
worst agreement of what the page prints twice, and its score; then what each refusal threshold (on the best
agreement) does to both, and how the default `Limits` judge the upright reads.

    .venv/bin/ecgkit synth --generated 12 --types 0001,0003,0004,0005,0009 --seed 321 --rot90-prob 0 --out runs/gen_verdict
    .venv/bin/python benchmarks/bench_verdict.py runs/gen_verdict [runs/gen_thr ...]"""
import argparse

import numpy as np
import pandas as pd

from ecgkit.data import find_competition, find_images, read_record_csv
from ecgkit.core import WorkerPool
from ecgkit.digitize.digitizer import Digitizer, DigitizeError, Limits, _init_worker
from ecgkit.digitize.evaluate import score_record
from ecgkit.digitize.image import load_image

RAW = Digitizer(stage0=lambda src: (load_image(src), {'turn_sure': True}), limits=Limits(fail_agree=-2.))


def _reads(job):
    path, rid, t, fs, root = job
    truth = read_record_csv(f"{root}/{rid}/{rid}.csv", id=rid, fs=fs)
    img, out = load_image(path), []
    for kind, x in (('upright', img), ('upside down', np.ascontiguousarray(img[::-1, ::-1]))):
        try: r = RAW.run(x, fs, None, rid); err = ''
        except DigitizeError as e: r, err = e.result, str(e)
        if r is None: continue
        out.append(dict(id=rid, type=t, kind=kind, failed=bool(err), quality=r.info['quality'], ink_frac=r.info['ink_frac'],
                        consistency=r.info['consistency'], agree_min=r.info['agree_min'], II=r.info['agree'].get('II', np.nan), **{'I+III': r.info['agree'].get('I+III', np.nan)}, db=score_record(truth, None if err else r.record).score_db))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('folders', nargs='+'); ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args(argv)
    jobs = []
    for f in a.folders:
        data = find_competition(f, search=(), depth=1); fs = data.train().set_index('id')['fs']
        jobs += [(p, rid, t, int(fs[rid]), str(data.train_dir)) for rid, t, p in find_images(data.train_dir).itertuples(index=False)]
    with WorkerPool(a.workers, _init_worker) as ex: df = pd.DataFrame([d for o in ex.map(_reads, jobs) for d in o])
    info = lambda r: dict(r, agree={k: r[k] for k in ('II', 'I+III') if not np.isnan(r[k])})
    up, dn = df[df.kind == 'upright'], df[df.kind == 'upside down']
    print(f"{len(jobs)} generated images; upright reads {up['db'].mean():.2f} dB mean, upside-down reads {dn['db'].mean():.2f} dB")
    for k in ('consistency', 'II', 'I+III', 'agree_min'):
        q = lambda d: d[k].quantile([0.1, 0.25, 0.5, 0.75]).round(2).tolist()
        print(f"  {k:12s} upright >5 dB {q(up[up['db'] > 5])}  upright <=5 dB {q(up[up['db'] <= 5])}  upside down {q(dn)}   (10/25/50/75 %)")
    print("\nLimits.fail_agree | upright: mean dB, refused (of them > 0 dB) | upside down: kept, mean dB")
    for th in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        L = Limits(fail_agree=th)
        ru, rd = (d.apply(lambda r: L.fails(info(r)) is not None, axis=1) for d in (up, dn))
        z = lambda d, r: np.where(r, 0.0, d['db'])
        print(f"  {th:.1f} | {z(up, ru).mean():6.2f}  {int(ru.sum()):3d} ({int((ru & (up['db'] > 0)).sum()):2d}) | {int((~rd).sum()):3d}  {z(dn, rd).mean():6.2f}")
    L = Limits(); kept = up[~up['failed'] & ~up.apply(lambda r: L.fails(info(r)) is not None, axis=1)]
    dbt = kept.apply(lambda r: bool(L.doubts(info(r))), axis=1)
    print(f"\nwith the default Limits: {int(dbt.sum())} of {len(kept)} kept upright reads doubtful (median {kept[dbt]['db'].median():.2f} dB), "
          f"the others median {kept[~dbt]['db'].median():.2f} dB; below 0 dB and not doubtful: {int(((kept['db'] < 0) & ~dbt).sum())}")

if __name__ == '__main__': main()
