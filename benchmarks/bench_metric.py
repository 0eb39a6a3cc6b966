"""Metric speed: score N records at FS Hz on one core, end to end from DataFrames.

    python benchmarks/bench_metric.py [--records 1000] [--fs 500] [--shuffle]

Prints records/s for: the whole `score_frames` call (id parsing, matching, alignment, powers) and the numeric
core alone (`lead_powers` on the same leads). The prediction is the truth shifted, scaled, offset and noised,
so every lead needs a real lag search.
"""
import argparse, os, time
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
import numpy as np, pandas as pd
import pyarrow as pa, pyarrow.compute as pc
pa.set_cpu_count(1); pa.set_io_thread_count(1)   # one core, as the spec asks
from ecgkit.data import LEADS, STANDARD
from ecgkit.metric import score_frames, lead_powers, max_lag


def make_frames(n_records, fs, seed=0):
    rng = np.random.default_rng(seed)
    win = STANDARD.windows(fs)
    rec_ids = np.arange(10**8, 10**8 + n_records).astype(str)
    ids, vals, preds = [], [], []
    for lead in LEADS:
        a, b = win[lead]; n = b - a
        t = np.arange(n) / fs
        x = (np.sin(2 * np.pi * 1.2 * t)[None] * rng.uniform(0.5, 2, (n_records, 1))
             + 0.2 * rng.normal(size=(n_records, n)).cumsum(1) / np.sqrt(n))
        shift = rng.integers(-max_lag(fs), max_lag(fs) + 1, n_records)
        p = np.stack([np.roll(r, s) for r, s in zip(x, shift)]) * 0.9 + rng.normal(0, 0.05, x.shape) + 0.3
        rows = np.arange(n).astype(str)
        lead_ids = pc.binary_join_element_wise(pa.array(np.repeat(rec_ids, n)), pa.array(np.tile(rows, n_records)),
                                               pa.array(np.full(n * n_records, lead)), '_')
        ids.append(lead_ids); vals.append(x.ravel()); preds.append(p.ravel())
    # rows in the order a submission is written: record by record, lead by lead, row by row
    rec_of_row = np.concatenate([np.repeat(np.arange(n_records), win[l][1] - win[l][0]) for l in LEADS])
    order = np.argsort(rec_of_row, kind='stable')
    ids = pa.chunked_array(ids).combine_chunks().take(pa.array(order))
    sol = pd.DataFrame({'id': pd.Series(ids.to_pandas(types_mapper=pd.ArrowDtype), dtype='str'),
                        'value': np.concatenate(vals)[order], 'fs': fs})
    sub = pd.DataFrame({'id': sol['id'], 'value': np.concatenate(preds)[order]})
    return sol, sub


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--records', type=int, default=1000)
    ap.add_argument('--fs', type=int, default=500)
    ap.add_argument('--shuffle', action='store_true', help='submission rows in random order (forces the id join)')
    a = ap.parse_args()
    sol, sub = make_frames(a.records, a.fs)
    if a.shuffle: sub = sub.sample(frac=1, random_state=0).reset_index(drop=True)
    print(f"{a.records} records at {a.fs} Hz: {len(sol):,} rows{' (submission shuffled)' if a.shuffle else ''}")
    t = time.perf_counter(); s = score_frames(sol, sub, strict=True); dt = time.perf_counter() - t
    print(f"score_frames (strict): {dt:.2f} s -> {a.records / dt:,.0f} records/s   score {s.score_db:.4f} dB")
    # the numeric core alone on the same leads: all short leads in one batch, lead II in another
    rng = np.random.default_rng(0)
    short, n = rng.normal(size=(2, 11 * a.records, int(2.5 * a.fs))), 10 * a.fs
    long = rng.normal(size=(2, a.records, n))
    t = time.perf_counter()
    lead_powers(short[0], short[1], max_lag(a.fs)); lead_powers(long[0], long[1], max_lag(a.fs))
    dt = time.perf_counter() - t
    print(f"lead_powers core:      {dt:.2f} s -> {a.records / dt:,.0f} records/s")
