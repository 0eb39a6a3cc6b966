"""`ecgkit synth` end to end: determinism across worker counts, resume (also after kill -9), bad records skipped
with a clear message, user errors, and the metric round trip through a test view."""
import json, os, signal, subprocess, time

import cv2
import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgkit.synth.render import load_labels
from ecgkit.synth.signals import generate
from conftest import ecgkit_cmd


def tree(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob('*') if p.is_file())


def synth(cli, out, *extra):
    r = cli('synth', '--generated', 2, '--per-record', 2, '--seed', 5, '--out', out, *extra)
    assert r.returncode == 0, r.stderr
    return r


def test_same_files_whatever_the_worker_count(cli, tmp_path):
    a, b = tmp_path/'a', tmp_path/'b'
    synth(cli, a, '--workers', 1); synth(cli, b, '--workers', 2)
    assert tree(a) == tree(b) and len([f for f in tree(a) if f.endswith('.png')]) == 4
    for f in tree(a):
        if f.endswith(('.png', '.csv')): assert (a/f).read_bytes() == (b/f).read_bytes(), f
        if f.endswith('.npz'):
            la, lb = load_labels(a/f), load_labels(b/f)
            assert np.array_equal(la.classes, lb.classes) and np.array_equal(la.panels[0]['x'], lb.panels[0]['x'])


def test_rerun_skips_and_fills_gaps(cli, tmp_path):
    synth(cli, tmp_path)
    assert '0 image(s) written, 4 already there' in synth(cli, tmp_path).stdout
    png = next(tmp_path.rglob('*-0001.png')); png.unlink()
    assert '1 image(s) written, 3 already there' in synth(cli, tmp_path).stdout


def test_resume_after_kill(tmp_path):
    "kill -9 mid-run leaves no partial file; the re-run completes the set."
    cmd = ecgkit_cmd() + ['synth', '--generated', 12, '--seed', 2, '--out', str(tmp_path)]
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(tmp_path.rglob('*.png'))) < 3: time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = len(list(tmp_path.rglob('*.png')))
    assert 0 < done < 12, done
    leftovers = [f for f in tree(tmp_path) if not f.endswith(('.png', '.csv', '.npz')) and f != '.ecgkit-synth.json']   # the set's recipe
    assert all(f.rsplit('/', 1)[-1].startswith('.') and f.endswith('.tmp') for f in leftovers), leftovers   # only temp files
    for f in tmp_path.rglob('*.png'): assert cv2.imread(str(f)) is not None, f
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pngs = list(tmp_path.rglob('*.png'))
    assert len(pngs) == 12 and all(cv2.imread(str(f)) is not None for f in pngs)
    assert len(pd.read_csv(tmp_path/'train.csv')) == 12
    assert not [f for f in tree(tmp_path) if f.endswith('.tmp')]          # the re-run swept the killed run's temp files


def test_bad_record_is_named_and_skipped(cli, tmp_path):
    src = tmp_path/'records'; src.mkdir()
    rec = generate(1, fs=500)
    wfdb.wrsamp('good', fs=500, units=['mV'] * 12, sig_name=list(rec.leads), p_signal=np.stack(list(rec.leads.values()), 1),
                fmt=['16'] * 12, write_dir=str(src))
    (src/'bad.hea').write_text('bad 12 500 5000\nthis is not a signal line\n')
    r = cli('synth', '--records', src, '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    assert 'skipped record bad' in r.stderr and 'Traceback' not in r.stderr
    assert '1 image(s) written' in r.stdout and '1 bad record(s) skipped: bad' in r.stdout


@pytest.mark.parametrize('args, fact', [
    (['--out', 'x'], 'give exactly one of'),
    (['--generated', '1', '--records', 'r', '--out', 'x'], 'give exactly one of'),
    (['--generated', '1'], '--out DIR is required'),
    (['--generated', '1', '--out', 'x', '--types', '0001,0002'], 'unknown image type(s) 0002'),
    (['--records', 'no/such/folder', '--out', 'x'], 'no/such/folder'),
    (['--generated', '1', '--half', 'even', '--out', 'x'], '--half goes with --competition-train'),
])
def test_user_errors(cli, tmp_path, args, fact):
    r = cli('synth', *args, cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fact in lines[0], lines


def test_synthesized_truth_scores_the_ceiling(cli, tmp_path):
    "The signal CSV of every image is what was drawn: a test view of the set, submitted as truth, scores 25.8433."
    synth(cli, tmp_path/'set')
    assert cli('testview', tmp_path/'set', '--out', tmp_path/'view').returncode == 0
    sol = pd.read_csv(tmp_path/'view'/'solution.csv', dtype={'id': str})
    sol[['id', 'value']].to_csv(tmp_path/'truth.csv', index=False)
    r = cli('score', '--solution', tmp_path/'view'/'solution.csv', '--submission', tmp_path/'truth.csv', '--json')
    assert r.returncode == 0, r.stderr
    assert round(json.loads(r.stdout)['score_db'], 4) == 25.8433 and json.loads(r.stdout)['records'] == 4


def test_half_is_its_own_source(cli, sample, tmp_path):
    "`--half even` draws the even rows of train.csv only, and a folder made from them never resumes with all rows."
    out = tmp_path/'even'
    r = cli('synth', '--competition-train', sample, '--half', 'even', '--out', out)
    assert r.returncode == 0, r.stderr
    rows = pd.read_csv(sample/'train.csv', dtype={'id': str})
    made = pd.read_csv(out/'train.csv', dtype={'id': str})
    assert len(made) == len(rows[::2]) == 3           # the rows drawn are the even ones: see _synth_source's test in nbs/90_cli
    assert json.loads((out/'.ecgkit-synth.json').read_text())['source']['half'] == 'even'
    r = cli('synth', '--competition-train', sample, '--out', out)
    assert r.returncode == 2 and 'give another --out' in r.stderr, r.stderr
