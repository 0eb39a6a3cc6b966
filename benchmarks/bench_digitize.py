"""Training-free digitizer on a train-layout folder (default: the shared devset): score per image type on a half of
the records, seconds per image, peak memory per worker and how `--workers` scales.

    .venv/bin/python benchmarks/bench_digitize.py --half even            # the half the parameters were chosen on
    .venv/bin/python benchmarks/bench_digitize.py --half odd             # the half they were checked on
    .venv/bin/python benchmarks/bench_digitize.py --scaling --types 0001 --limit 12
    .venv/bin/python benchmarks/bench_digitize.py --half odd --method auto    # with the shipped trace weights
    .venv/bin/python benchmarks/bench_digitize.py --half odd --stage0 learned # the learned stage 0, classic 1 and 2

`--half even|odd` takes every other record in `train.csv` order (even: rows 0, 2, 4, ...), all of its image types.
Peak memory per worker is the largest resident set of any worker process (`ru_maxrss` of the children) with more
than one worker, of this process with one."""
import argparse, resource, sys, time
from pathlib import Path

from ecgkit.digitize.evaluate import evaluate
from ecgkit.digitize.learned import digitizer_for
from ecgkit.synth.signals import competition_records


def _ids(root, half, limit):
    ids = competition_records(root, half=half).names          # the one definition of the halves (training uses 'even')
    return ids[:limit] if limit else ids


def _run(root, types, ids, workers, digitizer=None):
    t0 = time.perf_counter()
    ev = evaluate(root, types=types, ids=ids, workers=workers, digitizer=digitizer)
    return ev, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--data', default=str(Path(__file__).resolve().parents[1].parent/'shared'/'data'/'devset'))
    ap.add_argument('--half', choices=('all', 'even', 'odd'), default='all')
    ap.add_argument('--types', nargs='*', default=None)
    ap.add_argument('--limit', type=int, default=0, help='at most this many records')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--scaling', action='store_true', help='also time 1 worker against --workers on the same images')
    ap.add_argument('--method', choices=('classic', 'learned', 'auto'), default='classic', help='stage readers (as ecgkit evaluate --method)')
    ap.add_argument('--stage0', choices=('classic', 'learned', 'auto'), help='stage 0 alone (as ecgkit evaluate --stage0)')
    ap.add_argument('--weights', help='weights folder (as ecgkit evaluate --weights)')
    ap.add_argument('--out', help='also save the tables (evaluate.csv, per_image.csv, ...) into this folder')
    a = ap.parse_args(argv)
    if not Path(a.data).is_dir(): sys.exit(f"no such folder: {a.data}")
    ids = _ids(a.data, a.half, a.limit)
    dg = digitizer_for(a.method, stage0=a.stage0, weights=a.weights)
    ev, wall = _run(a.data, a.types, ids, a.workers, dg)
    if a.out: ev.save(a.out)
    n = int(ev.table.loc[ev.table['type'] == 'all', 'images'].iloc[0])
    print(f"{a.data} · records: {a.half} ({len(ids)}) · workers: {a.workers} · method: {a.method} (stage 0: {getattr(dg.stage0, '__qualname__', dg.stage0)}; stage 2: {getattr(dg.stage2, '__qualname__', dg.stage2)})")
    print(ev.summary())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN if a.workers > 1 else resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nwall {wall:.1f} s for {n} images: {wall / n:.2f} s/image overall, peak memory per worker {peak:.0f} MB")
    if a.scaling and a.workers > 1:
        _, w1 = _run(a.data, a.types, ids, 1, dg)
        print(f"scaling: 1 worker {w1:.1f} s, {a.workers} workers {wall:.1f} s → speed-up {w1 / wall:.2f}×")


if __name__ == '__main__': main()
