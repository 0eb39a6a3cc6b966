"""Choose `AutoTrace.min_share` (the confidence below which `--method auto` reads a page with the classic stage 2) on
GENERATED images, never on the devset: per image, the learned read's confidence (mean share of confident columns over
the panels) and the competition score of the learned and of the classic read of the same rectified page; then the
score of `auto` for every threshold.

    .venv/bin/ecgkit synth --generated 6 --types 0001,0003,0004,0005,0009 --out runs/gen_thr --seed 123
    .venv/bin/python benchmarks/bench_auto_threshold.py runs/gen_thr [--weights DIR] [--write]

`--write` keeps the best threshold in the weights' `model.json` (`auto_min_share`; null when the classic read
of every image was the better one, so `--method auto` reads with the classic stage 2), with the table's numbers."""
import argparse, json

import numpy as np
import pandas as pd

from ecgkit.core import atomic_write_text
from ecgkit.data import find_competition, find_images, read_record_csv
from ecgkit.digitize.digitizer import Digitizer
from ecgkit.digitize.evaluate import score_record
from ecgkit.digitize.learned import LearnedTrace, weights_dir
from ecgkit.digitize.trace import trace_page


def snr(truth, rec) -> float: return float(score_record(truth, rec).records['snr'].iloc[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('folder'); ap.add_argument('--weights')
    ap.add_argument('--write', action='store_true', help="keep the best threshold in the weights' model.json")
    a = ap.parse_args(argv)
    data = find_competition(a.folder, search=(), depth=1)
    train = data.train().set_index('id')
    wd = weights_dir('trace', a.weights)
    if wd is None: raise SystemExit("no trace weights found")
    learned, dg, rows = LearnedTrace(wd), Digitizer(), []
    for rid, t, path in find_images(data.train_dir).itertuples(index=False):
        fs, n = int(train.loc[rid, 'fs']), int(train.loc[rid, 'sig_len'])
        truth = read_record_csv(data.train_dir/rid/f"{rid}.csv", id=rid, fs=fs)
        img, _ = dg.stage0(path)
        try: page, _ = dg.stage1(img, dg.paper)
        except (ValueError, ArithmeticError): continue
        lr, lt, _ = learned(page, fs, n, dg.paper, dg.params, rid)
        cr, _, _ = trace_page(page, fs, n, dg.paper, dg.params, rid)
        rows.append(dict(id=rid, type=t, conf=float(np.mean([x.ink_frac for x in lt])), learned=snr(truth, lr), classic=snr(truth, cr)))
    df = pd.DataFrame(rows)
    db = lambda s: 10 * np.log10(max(float(np.mean(s)), 1e-300))
    print(df.assign(learned_db=10 * np.log10(df['learned'].clip(lower=1e-30)), classic_db=10 * np.log10(df['classic'].clip(lower=1e-30)))
          [['id', 'type', 'conf', 'learned_db', 'classic_db']].to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"\n{len(df)} images: classic {db(df['classic']):.2f} dB, learned {db(df['learned']):.2f} dB")
    table = {}
    for th in (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, None):
        use = df['conf'] >= th if th is not None else np.zeros(len(df), bool)
        table[th] = db(np.where(use, df['learned'], df['classic']))
        print(f"auto min_share {th if th is not None else 'none (classic)'}: {table[th]:.2f} dB ({int(use.sum())} of {len(df)} learned)")
    best = max(table, key=lambda k: (table[k], k is None, k or 0))          # ties: the classic reader, then the stricter threshold
    print(f"best: {best} ({table[best]:.2f} dB on {len(df)} generated images)")
    if a.write:
        meta = json.loads((wd/'model.json').read_text())
        meta.update(auto_min_share=best, auto_choice=dict(folder=str(a.folder), images=len(df), classic_db=round(db(df['classic']), 2),
                    learned_db=round(db(df['learned']), 2), auto_db=round(table[best], 2)))
        atomic_write_text(wd/'model.json', json.dumps(meta, indent=1))
        print(f"wrote auto_min_share={best} into {wd/'model.json'}")


if __name__ == '__main__': main()
