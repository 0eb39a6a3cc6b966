"""Robustness of the digitizer to what a user feeds it: every devset image of a half turned by 90/180/270° and
rescaled 0.3×–4× (as a phone photo would be), digitized and scored, with how many reads fell below the zero
fallback without a failure or a doubtful row; orientation over the 4 turns (and the 8 orientations with
`--mirrors`) by stage 0 alone; a noise image; peak memory on a 20000 × 15000 page; the real photos as an overlay
contact sheet with their fallbacks and doubtful verdicts.

    .venv/bin/python benchmarks/bench_robust.py --half odd --out runs/robust           # the table in the README
    .venv/bin/python benchmarks/bench_robust.py --half even --limit 6 --skip-photos    # a quick look

Scores are the competition metric of each image alone (`score_record`), averaged in dB per type."""
import argparse, glob, subprocess, sys, tempfile, time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ecgkit.data import find_competition, find_images, read_record_csv
from ecgkit.core import WorkerPool
from ecgkit.digitize.digitizer import Digitizer, DigitizeError, _init_worker
from ecgkit.digitize.evaluate import overlay, save_png, score_record
from ecgkit.digitize.image import load_image
from ecgkit.digitize.learned import digitizer_for
from ecgkit.digitize.page import orient, warp_points
from ecgkit.paper import kit_errors
from ecgkit.synth.signals import competition_records

SHARED = Path(__file__).resolve().parents[1].parent/'shared'/'data'
VIEWS = ('up', 'r90', 'r180', 'r270', 's0.3', 's0.5', 's0.75', 's1.5', 's3', 's4')


def view(img, name):
    "The image as a user might give it: `rK` turned K quarter turns, `sF` rescaled by F."
    if name == 'up': return img
    if name[0] == 'r': return np.ascontiguousarray(np.rot90(img, int(name[1:])))
    f = float(name[1:])
    return cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


def _read(job):
    "Digitize one view of one image; its score, verdict and turn."
    path, rid, t, fs, root, name, dg = job
    truth = read_record_csv(Path(root)/rid/f"{rid}.csv", id=rid, fs=fs)
    x = view(load_image(path), name)
    t0 = time.perf_counter()
    try: r = dg.run(x, fs, None, rid); err, rec = '', r.record
    except DigitizeError as e: err, rec, r = str(e), None, e.result
    info = r.info if r is not None else {}
    k = int(name[1:]) if name[0] == 'r' else 0
    f = float(name[1:]) if name[0] == 's' else 1.
    if r is not None and r.image is not None: f *= max(r.image.shape[:2]) / max(x.shape[:2])   # H maps stage 0's image (capped at 6000 px)
    reg = np.full(1, np.nan)                 # the kit's pixels of every sample, where this view has them, through rectify's H
    if 'H' in info and Path(path).with_suffix('.json.gz').is_file():
        reg = kit_errors(Path(path).with_suffix('.json.gz'), truth, to_page=lambda xy: warp_points(info, (xy + 0.5) * f - 0.5))
    reg = reg[np.isfinite(reg)] if np.isfinite(reg).any() else np.full(1, np.nan)
    return dict(id=rid, type=t, view=name, db=score_record(truth, rec).score_db, failed=bool(err), reason=err or info.get('doubt', ''),
                doubtful=bool(not err and info.get('doubt')), turn_ok=(info.get('rot90', -1) + k) % 4 == 0,
                reg_p50=float(np.percentile(reg, 50)), reg_p95=float(np.percentile(reg, 95)), seconds=time.perf_counter() - t0)


def _orient_one(job):
    path, mirrors = job
    img = load_image(path); ok = []
    for flip in ((False, True) if mirrors else (False,)):
        for k in range(4):
            x = np.rot90(img[:, ::-1] if flip else img, k)
            up, kk, ff, _ = orient(np.ascontiguousarray(x), detect_flip=mirrors)
            ok.append(np.array_equal(up, img))
    return ok


def _memory(path, side=20000):
    "Peak resident memory (MB) and seconds of `ecgkit`'s digitizer on a `side` × ¾`side` page, in a fresh process."
    with tempfile.TemporaryDirectory() as d:
        big = cv2.resize(cv2.imread(str(path)), (side, side * 3 // 4), interpolation=cv2.INTER_NEAREST)
        p = Path(d)/'big.png'; cv2.imwrite(str(p), big, [cv2.IMWRITE_PNG_COMPRESSION, 1]); del big
        code = ("import re, time; from ecgkit.digitize.digitizer import Digitizer, DigitizeError\n"
                "t = time.perf_counter()\ntry: Digitizer().run(%r, 500); ok = 'read'\nexcept DigitizeError as e: ok = str(e)\n"
                "hwm = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])   # (ru_maxrss keeps the parent's across exec)\n"
                "print(hwm / 1024, time.perf_counter() - t, ok)" % str(p))
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split(maxsplit=2)
        return float(out[0]), float(out[1]), out[2].strip()


def _photo(job):
    path, dg = job
    try: r = dg.run(path, 500, None, Path(path).stem); err = ''
    except DigitizeError as e: r, err = e.result, str(e)
    except Exception as e: r, err = None, f"{type(e).__name__}: {e}"
    doubt = '' if err or r is None else r.info.get('doubt', '')
    img = overlay(r, scale=0.25) if r is not None else np.full((425, 550, 3), 255, np.uint8)
    note = f"FAILED: {err}" if err else (f"doubtful: {doubt}" if doubt else 'ok')
    cv2.putText(img, note[:70], (6, img.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 0, 0) if err or doubt else (0, 120, 0), 1, cv2.LINE_AA)
    return Path(path).name, bool(err), bool(doubt), note, img


def contact_sheet(imgs, cols=5):
    h, w = max(i.shape[0] for i in imgs), max(i.shape[1] for i in imgs)
    rows = -(-len(imgs) // cols); sheet = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for n, i in enumerate(imgs): sheet[(n // cols) * h:(n // cols) * h + i.shape[0], (n % cols) * w:(n % cols) * w + i.shape[1]] = i
    return sheet


def half_images(root, half, limit=0, types=None):
    "(competition folder, ids, fs per id, images table) of the records of `half` of the devset `root` (at most `limit`), of `types`."
    data = find_competition(root, search=(), depth=1)
    ids = competition_records(root, half=half).names
    ids = set(ids[:limit] if limit else ids)
    ims = find_images(data.train_dir)
    return data, ids, data.train().set_index('id')['fs'], ims[ims['id'].isin(ids) & (ims['type'].isin(types) if types else True)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--data', default=str(SHARED/'devset'))
    ap.add_argument('--half', choices=('all', 'even', 'odd'), default='odd')
    ap.add_argument('--views', nargs='*', default=list(VIEWS))
    ap.add_argument('--types', nargs='*', default=None)
    ap.add_argument('--limit', type=int, default=0, help='at most this many records')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--mirrors', action='store_true', help='orientation over all 8 orientations (mirror cue on)')
    ap.add_argument('--skip-photos', action='store_true'); ap.add_argument('--skip-memory', action='store_true')
    ap.add_argument('--stage0', choices=('classic', 'learned', 'auto'), default='classic', help='stage 0 (as ecgkit digitize --stage0)')
    ap.add_argument('--out', help='folder for the tables and the photos contact sheet')
    a = ap.parse_args(argv)
    out = Path(a.out) if a.out else None
    if out: out.mkdir(parents=True, exist_ok=True)
    data, ids, fs, ims = half_images(a.data, a.half, a.limit, a.types)
    dg = digitizer_for('classic', stage0=a.stage0)
    print(f"{a.data} · records: {a.half} ({len(ids)}) · {len(ims)} images × {len(a.views)} views · stage 0: {a.stage0}", flush=True)
    with WorkerPool(a.workers, _init_worker) as ex:
        ok = [o for r in ex.map(_orient_one, [(p, a.mirrors) for p in ims['path']]) for o in r]
        print(f"stage 0 alone: {sum(ok)} of {len(ok)} {'orientations' if a.mirrors else 'turns'} right", flush=True)
        jobs = [(p, rid, t, int(fs[rid]), str(data.train_dir), v, dg) for rid, t, p in ims.itertuples(index=False) for v in a.views]
        rows = pd.DataFrame(list(ex.map(_read, jobs)))
        ps = [] if a.skip_photos else sorted(p for p in glob.glob(str(SHARED/'photos'/'*')) if p.rsplit('.', 1)[-1].lower() in ('png', 'jpg', 'jpeg', 'bmp'))
        ph = list(ex.map(_photo, [(p, dg) for p in ps]))
    rows['silent_below_zero'] = (rows['db'] < 0) & ~rows['failed'] & ~rows['doubtful']
    db = lambda s: 10 * np.log10(np.mean(10 ** (s / 10)))           # the metric averages SNR, not dB
    tab = rows.pivot_table(index='type', columns='view', values='db', aggfunc=db)[a.views]
    tab.loc['all'] = rows.groupby('view')['db'].agg(db)[a.views]
    print("\nscore (dB) per type and view\n" + tab.round(2).to_string())
    cnt = rows.groupby('view')[['failed', 'doubtful', 'silent_below_zero', 'turn_ok']].sum().T[a.views]
    print("\nimages per view: zero fallbacks, doubtful, below 0 dB with neither, turn right\n" + cnt.to_string())
    reg = rows.groupby(['view', 'type'])[['reg_p50', 'reg_p95']].median().unstack('view')
    print("\nregistration error against ECG-image-kit's pixels (px on the page, median over images of each image's p50 / p95)\n"
          + pd.concat({'p50': reg['reg_p50'][a.views], 'p95': reg['reg_p95'][a.views]}).round(2).to_string())
    print(f"\n{len(rows)} reads, {rows['seconds'].mean():.2f} s per read per worker; "
          f"{int(rows['silent_below_zero'].sum())} below the zero fallback without a failure or doubtful row")
    noise = np.random.default_rng(0).integers(0, 256, (1700, 2200, 3), dtype=np.uint8)
    try: print(f"noise image: read, doubtful: {dg.run(noise, 500).info['doubt'] or 'no'}")
    except DigitizeError as e: print(f"noise image: zero fallback: {e}")
    if not a.skip_memory:
        mb, s, said = _memory(ims['path'].iloc[0])
        print(f"20000 × 15000 page: peak {mb:.0f} MB, {s:.1f} s, {said}")
    if out:
        rows.to_csv(out/'reads.csv', index=False); tab.round(2).to_csv(out/'by_type.csv')
    if ph:
        print(f"\nreal photos: {len(ph)}, zero fallbacks {sum(p[1] for p in ph)}, doubtful {sum(p[2] for p in ph)}")
        for name, _, _, note, _ in ph: print(f"  {name}: {note}")
        if out: print(f"contact sheet: {save_png(contact_sheet([p[4] for p in ph]), out/'photos.png')}")


if __name__ == '__main__': main()
