"""The offline rehearsal of Kaggle kernels, through the console script: the submission kernel on a 2-image test view
(installed with pip --target from a freshly built wheel, found under a fake /kaggle/input by glob) writes the same
submission as `ecgkit digitize`, valid, with the time report; the training kernel runs its smoke mode (GPU kernel
on the CPU, then its next version resuming from the first one's output; the TPU kernel on XLA's CPU device: slow). `.venv` is unchanged and no secret lands in any file."""
import hashlib, importlib.util, json, os, subprocess, sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ecgkit_cmd

SAMPLE_IDS = ['1479396917', '3049328193']                       # two bundled records with a clean 0001 image
SECRET_USER, SECRET_KEY = 'sentinel-user-5d1e77', 'sentinel-key-93ac04f2'
VENV = Path(sys.prefix)


def venv_state() -> str:
    "A hash of every path, size and mtime under the venv's site-packages and bin (any install would change it)."
    site = next(VENV.glob('lib/python3*/site-packages'))
    rows = []
    for top in (site, VENV/'bin'):
        for dirpath, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for f in files:
                st = os.lstat(os.path.join(dirpath, f)); rows.append(f"{dirpath}/{f} {st.st_size} {st.st_mtime_ns}")
    return hashlib.sha1('\n'.join(sorted(rows)).encode()).hexdigest()


def run(*args, timeout=600):
    env = {**os.environ, 'KAGGLE_USERNAME': SECRET_USER, 'KAGGLE_KEY': SECRET_KEY, 'PYTHONWARNINGS': 'ignore'}
    return subprocess.run(ecgkit_cmd() + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)


def no_secret_in(*folders):
    files = [p for d in folders for p in Path(d).rglob('*') if p.is_file()]
    assert files
    for p in files:
        b = p.read_bytes()
        assert SECRET_USER.encode() not in b and SECRET_KEY.encode() not in b, p


@pytest.fixture(scope='module')
def pkg(tmp_path_factory):
    "One package folder for the rehearsals of this module (the wheel is built once)."
    d = tmp_path_factory.mktemp('pkg')/'P'
    r = run('kaggle', 'package', '--user', 'u', '--out', d)
    assert r.returncode == 0, r.stderr
    return d


def test_submit_rehearsal_matches_digitize(sample, tmp_path, pkg):
    before = venv_state()
    assert run('testview', sample, '--type', '0001', '--ids', ','.join(SAMPLE_IDS), '--out', tmp_path/'V').returncode == 0
    assert run('kaggle', 'build', 'submit', '--user', 'u', '--out', tmp_path/'K').returncode == 0
    r = run('kaggle', 'rehearse', tmp_path/'K', '--input', tmp_path/'V', '--out', tmp_path/'W', '--package', pkg,
            '--workers', '1', '--hidden-images', '1000')
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = r.stdout.splitlines()
    assert out.pop(0).startswith('rehearsing submit kernel u/ecgkit-submit offline (input '), out
    n = pd.read_csv(tmp_path/'V'/'solution.csv').shape[0]
    assert out[0] == f'submission valid: valid submission: {n:,} rows, every expected id once, all values finite', out
    assert out[1].startswith('2 images in ') and ' s per image digitizing: ' in out[1] and 'fit in the 9 h limit' in out[1], out
    assert out[2].startswith('hidden test set of 1,000 images: ') and 'the 9 h limit' in out[2], out
    assert out[3].startswith('network during the run: '), out
    rep = json.loads((tmp_path/'W'/'rehearsal.json').read_text())
    assert rep['valid'] and rep['images'] == 2 and rep['s_per_image'] > 0 and abs(rep['fit_in_limit'] - 9*3600/rep['s_per_image']) < 0.01*rep['fit_in_limit']
    # what the kernel ran: the wheel under the fake input (not the checkout), found by glob under another mount path
    nb = json.loads((tmp_path/'W.rehearsed.ipynb').read_text())
    text = ''.join(''.join(o.get('text', '')) for c in nb['cells'] for o in c.get('outputs', []))
    assert 'installed from ' in text and '/datasets/mounted-elsewhere/' in text and '/competitions/physionet-ecg-image-digitization' in text
    assert 'requirements of the wheel: all ' in text, text[:3000]
    assert run('validate', '--test', tmp_path/'V'/'test.csv', '--submission', tmp_path/'W'/'submission.csv').returncode == 0
    # the same submission as the digitizer run directly on the view
    assert run('digitize', tmp_path/'V', '--out', tmp_path/'S.csv').returncode == 0
    a, b = pd.read_csv(tmp_path/'W'/'submission.csv'), pd.read_csv(tmp_path/'S.csv')
    pd.testing.assert_frame_equal(a, b)
    assert venv_state() == before, '.venv changed'
    no_secret_in(tmp_path/'K', tmp_path/'W', tmp_path/'W.rehearsed.ipynb', pkg)
    # again into the same WORKDIR: an earlier rehearsal is replaced
    assert run('kaggle', 'rehearse', tmp_path/'K', '--input', tmp_path/'V', '--out', tmp_path/'W', '--package', pkg,
               '--workers', '1').returncode == 0


@pytest.mark.parametrize('acc', ['gpu', pytest.param('tpu', marks=pytest.mark.slow)])
def test_train_rehearsal_smoke(tmp_path, pkg, acc):
    if acc == 'tpu' and importlib.util.find_spec('torch_xla') is None: pytest.skip('torch_xla is not installed (the tpu extra)')
    before = venv_state()
    (tmp_path/'c.yaml').write_text('train:\n  batch_size: 8\n  lr: 0.0125\n')       # carried in the notebook, applied like --config
    assert run('kaggle', 'build', 'train', '--user', 'u', '--stage', '0', '--accelerator', acc, '--config', tmp_path/'c.yaml',
               '--out', tmp_path/'K').returncode == 0
    r = run('kaggle', 'rehearse', tmp_path/'K', '--out', tmp_path/'W', '--package', pkg)
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = r.stdout.splitlines()
    assert out[0].startswith(f'rehearsing train kernel u/ecgkit-train-0-{acc} offline'), out
    assert out[1] == 'network during the run: none: own network namespace, loopback only' or 'dead proxies only' in out[1], out
    assert out[2].startswith(f'train kernel u/ecgkit-train-0-{acc} ran offline in smoke mode in ') and '4 checkpoint(s)' in out[2], out
    run_dir = tmp_path/'W'/'runs'/'markers'
    assert (run_dir/'checkpoints'/'latest.pt').is_file() and (run_dir/'final_metrics.json').is_file()
    nb = json.loads((tmp_path/'W.rehearsed.ipynb').read_text())
    text = ''.join(''.join(o.get('text', '')) for c in nb['cells'] for o in c.get('outputs', []))
    assert 'no competition data attached: validation on synthetic pages' in text and '(smoke)' in text, text[:2000]
    cfg = (run_dir/'config.yaml').read_text()
    assert f"device: {'xla' if acc == 'tpu' else 'cpu'}" in cfg and '  lr: 0.0125\n' in cfg, cfg
    if acc == 'gpu':      # the next version of the kernel, with this one's output attached: it resumes from latest.pt
        r = run('kaggle', 'rehearse', tmp_path/'K', '--out', tmp_path/'W2', '--package', pkg, '--attach', tmp_path/'W', '-p', 'epochs', '2')
        assert r.returncode == 0, (r.stdout, r.stderr)
        nb = json.loads((tmp_path/'W2.rehearsed.ipynb').read_text())
        text = ''.join(''.join(o.get('text', '')) for c in nb['cells'] for o in c.get('outputs', []))
        assert 'resuming from ' in text and 'resumed from latest.pt at epoch 1' in text, text[-3000:]
        assert (tmp_path/'W2'/'runs'/'markers'/'checkpoints'/'epoch_1.pt').is_file()
    assert venv_state() == before, '.venv changed'
    no_secret_in(tmp_path/'K', tmp_path/'W', tmp_path/'W.rehearsed.ipynb')
