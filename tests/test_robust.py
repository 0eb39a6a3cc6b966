"""Stages 0/1 on pages as users have them: turned, rescaled, huge, or not an ECG at all — read as upright or judged
(a failure or a `doubtful` row), never confident garbage. Each test reads the bundled sample."""
import subprocess, sys

import cv2
import numpy as np
import pandas as pd

from ecgkit.data import find_competition
from ecgkit.digitize.digitizer import Digitizer, DigitizeError
from ecgkit.digitize.evaluate import score_record
from ecgkit.digitize.image import load_image
from ecgkit.submission import make_test_view

RID = '3192557192'


def _page(sample):
    data = find_competition(sample, search=())
    fs = int(data.train().set_index('id').loc[RID, 'fs'])
    return load_image(data.train_dir/RID/f'{RID}-0001.png'), data.record(RID), fs


def _db(img, truth, fs):
    return score_record(truth, Digitizer().run(img, fs, None, RID).record).score_db


def test_turned_and_rescaled_pages_read_as_upright(sample):
    img, truth, fs = _page(sample)
    up = _db(img, truth, fs)
    assert up > 15
    assert abs(_db(np.ascontiguousarray(img[::-1, ::-1]), truth, fs) - up) < 0.01          # 180°: turned by default
    big = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)                 # a 6600 px 'phone photo'
    assert _db(big, truth, fs) > up - 1                                                    # read −3.7 dB before
    small = cv2.resize(img, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)          # a 150 dpi scan
    assert _db(small, truth, fs) > up - 3


def test_noise_is_never_a_confident_read():
    noise = np.random.default_rng(1).integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
    try: r = Digitizer().run(noise, 500)
    except DigitizeError: return                                                           # refused: zeros
    assert r.info['doubt'], r.info                                                         # or kept, but doubtful


def test_cli_lists_doubtful_reads_beside_failures(cli, sample, tmp_path):
    tv = make_test_view(sample, tmp_path/'view', '0001', show_progress=False)
    ids = sorted(p.stem for p in tv.test_dir.glob('*.png'))
    noisy = tv.test_dir/f'{ids[0]}.png'; noisy.unlink()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(noisy), rng.integers(0, 256, (1700, 2200, 3), dtype=np.uint8))
    (tv.test_dir/f'{ids[1]}.png').unlink(); (tv.test_dir/f'{ids[1]}.png').write_bytes(b'')   # unreadable
    r = cli('digitize', tv.root, '--out', tmp_path/'sub.csv')
    assert r.returncode == 0, r.stderr
    rows = pd.read_csv(tmp_path/'sub.csv.failures.csv', dtype={'id': str}).set_index('id')
    assert list(rows.columns) == ['reason', 'doubtful']
    assert not rows.loc[ids[1], 'doubtful'] and 'unreadable' in rows.loc[ids[1], 'reason']
    assert ids[0] in rows.index and rows['reason'].str.len().min() > 5                       # the noise: refused or doubtful
    assert (f"{ids[0]}: doubtful: " in r.stderr) == bool(rows.loc[ids[0], 'doubtful'])
    assert ids[2] not in rows.index                                                        # the clean page: neither


def test_a_huge_image_is_shrunk_as_it_loads(tmp_path):
    big = np.full((10500, 14000, 3), 255, np.uint8)
    for y in range(0, 10500, 40): big[y:y + 3] = 120                                      # some structure for the codec
    cv2.imwrite(str(tmp_path/'big.png'), big, [cv2.IMWRITE_PNG_COMPRESSION, 1]); del big
    code = ("import re; from ecgkit.digitize.image import load_image\n"          # VmHWM: this process's peak (ru_maxrss keeps the parent's across exec)
            f"a = load_image({str(tmp_path/'big.png')!r}); print(a.shape, int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split(')')
    assert out[0] == '(4500, 6000, 3'
    assert int(out[1]) < 1000, out                                    # MB: OpenCV's PNG decode holds 2 × 441 MB at its peak
