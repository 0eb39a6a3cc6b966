"""Choose `AutoTrace.min_share` (the confidence below which `--method auto` reads a page with the classic stage 2) on
GENERATED images, never on the devset: per image, the learned read's confidence (mean share of confident columns over
the panels) and the competition score of the learned and of the classic read of the same rectified page; then the
score of `auto` for every threshold.

    .venv/bin/ecgkit synth --generated 6 --types 0001,0003,0004,0005,0009 --out runs/gen_thr --seed 123
    .venv/bin/python benchmarks/bench_auto_threshold.py runs/gen_thr [--weights DIR]"""
import argparse
from dataclasses import replace

import numpy as np
import pandas as pd

from ecgkit.data import find_competition, find_images, read_record_csv
from ecgkit.digitize.digitizer import Digitizer
from ecgkit.digitize.learned import LearnedTrace, weights_dir
from ecgkit.digitize.trace import trace_page
from ecgkit.metric import score_frames
from ecgkit.submission import rows_for, to_rows


def snr_db(truth, rec):
    s = score_frames(to_rows([truth], with_fs=True), to_rows([replace(rec, id=truth.id)], rows_for([truth]), missing='zeros', fit=True))
    return s.score_db, float(s.records['snr'].iloc[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('folder'); ap.add_argument('--weights')
    a = ap.parse_args(argv)
    data = find_competition(a.folder, search=(), depth=1)
    train = data.train().set_index('id')
    learned, dg, rows = LearnedTrace(weights_dir('trace', a.weights)), Digitizer(), []
    for rid, t, path in find_images(data.train_dir).itertuples(index=False):
        fs, n = int(train.loc[rid, 'fs']), int(train.loc[rid, 'sig_len'])
        truth = read_record_csv(data.train_dir/rid/f"{rid}.csv", id=rid, fs=fs)
        img, _ = dg.stage0(path)
        try: page, _ = dg.stage1(img, dg.paper)
        except (ValueError, ArithmeticError): continue
        lr, lt, _ = learned(page, fs, n, dg.paper, dg.params, rid)
        cr, _, _ = trace_page(page, fs, n, dg.paper, dg.params, rid)
        rows.append(dict(id=rid, type=t, conf=float(np.mean([x.ink_frac for x in lt])), learned=snr_db(truth, lr)[1], classic=snr_db(truth, cr)[1]))
    df = pd.DataFrame(rows)
    db = lambda s: 10 * np.log10(max(float(np.mean(s)), 1e-300))
    print(df.assign(learned_db=10 * np.log10(df['learned'].clip(lower=1e-30)), classic_db=10 * np.log10(df['classic'].clip(lower=1e-30)))
          [['id', 'type', 'conf', 'learned_db', 'classic_db']].to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"\n{len(df)} images: classic {db(df['classic']):.2f} dB, learned {db(df['learned']):.2f} dB")
    for th in (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.01):
        pick = np.where(df['conf'] >= th, df['learned'], df['classic'])
        print(f"auto min_share {th:.2f}: {db(pick):.2f} dB ({int((df['conf'] >= th).sum())} of {len(df)} learned)")


if __name__ == '__main__': main()
