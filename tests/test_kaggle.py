"""`ecgkit kaggle ...` end to end, with the `kaggle` executable replaced at the process boundary: a fake on PATH
records its argv and answers like the real CLI 2.x (its success lines, its HTTP error lines, a push error printed
with exit 0). Every action, every user error (one line, exit 2, nothing half-written), and no secret in any file."""
import json, os, subprocess, sys, textwrap
from pathlib import Path

import pandas as pd
import pytest

from conftest import ecgkit_cmd

SAMPLE_IDS = ['1479396917', '3049328193', '3192557192']          # the bundled records with a clean 0001 image
SECRET_USER, SECRET_KEY = 'sentinel-user-7f3a9c', 'sentinel-key-0b8e21d4'

FAKE = textwrap.dedent('''\
    #!PYTHON
    "A stand-in for the kaggle CLI: appends its argv to $FAKE_KAGGLE_LOG, answers like kaggle 2.x."
    import json, os, shutil, sys, zipfile
    from pathlib import Path
    a = sys.argv[1:]
    with open(os.environ['FAKE_KAGGLE_LOG'], 'a') as f: f.write(json.dumps(a) + '\\n')
    mode = os.environ.get('FAKE_KAGGLE_MODE', 'ok')
    url = 'https://www.kaggle.com/api/v1/' + '/'.join(a[:2])
    if mode == 'rules': print(f'403 Client Error: Forbidden for url: {url}'); sys.exit(1)
    if mode == 'unauthorized': print(f'401 Client Error: Unauthorized for url: {url}'); sys.exit(1)
    arg = lambda flag: a[a.index(flag) + 1]
    if a[:2] == ['kernels', 'push']:
        meta = json.loads((Path(arg('-p'))/'kernel-metadata.json').read_text())
        if mode == 'push-error': print('Kernel push error: Notebook exceeds the maximum size'); sys.exit(0)
        print(f"Kernel version 1 successfully pushed.  Please check progress at https://www.kaggle.com/code/{meta['id']}")
    elif a[:2] in (['datasets', 'version'], ['datasets', 'create']):
        meta = json.loads((Path(arg('-p'))/'dataset-metadata.json').read_text())
        print(f"Dataset version is being created. Please check progress at https://www.kaggle.com/datasets/{meta['id']}")
    elif a[:2] == ['competitions', 'download']:
        src = Path(os.environ['FAKE_KAGGLE_COMP'])/arg('-f')
        if not src.is_file(): print(f'404 Client Error: Not Found for url: {url}'); sys.exit(1)
        dst = Path(arg('-p')); dst.mkdir(parents=True, exist_ok=True)
        if src.suffix == '.csv':          # Kaggle hands large files back zipped
            with zipfile.ZipFile(dst/(src.name + '.zip'), 'w') as z: z.write(src, src.name)
        else: shutil.copy2(src, dst/src.name)
    else: print(f'usage: kaggle [-h] [-v] ... invalid choice: {a[:2]}'); sys.exit(2)
    ''').replace('PYTHON', sys.executable)


@pytest.fixture
def kg(tmp_path, sample):
    "Run `ecgkit ARGS` with the fake kaggle first on PATH and an empty HOME; `.calls()` is what the fake was asked."
    bin_ = tmp_path/'bin'; bin_.mkdir()
    (bin_/'kaggle').write_text(FAKE); (bin_/'kaggle').chmod(0o755)
    comp = tmp_path/'competition'; (comp/'train').mkdir(parents=True)       # the fake competition: 3 sample ids
    tr = pd.read_csv(sample/'train.csv', dtype={'id': str})
    tr[tr['id'].isin(SAMPLE_IDS)].to_csv(comp/'train.csv', index=False)
    for i in SAMPLE_IDS:
        (comp/'train'/i).mkdir()
        for f in (f'{i}.csv', f'{i}-0001.png'): (comp/'train'/i/f).write_bytes((sample/'train'/i/f).read_bytes())
    log = tmp_path/'calls.jsonl'; home = tmp_path/'home'; home.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith('KAGGLE_')}
    base.update(PATH=f"{bin_}{os.pathsep}{os.environ['PATH']}", HOME=str(home), FAKE_KAGGLE_LOG=str(log),
                FAKE_KAGGLE_COMP=str(comp), PYTHONWARNINGS='ignore', XDG_CONFIG_HOME=str(home/'.config'))
    class K:
        def __call__(self, *args, creds=True, mode='ok'):
            env = {**base, 'FAKE_KAGGLE_MODE': mode, **({'KAGGLE_USERNAME': SECRET_USER, 'KAGGLE_KEY': SECRET_KEY} if creds else {})}
            return subprocess.run(ecgkit_cmd() + ['kaggle', *map(str, args)], capture_output=True, text=True, env=env,
                                  cwd=tmp_path, timeout=300)
        def calls(self): return [json.loads(l) for l in log.read_text().splitlines()] if log.is_file() else []
    return K()


def user_error(r, *facts):
    "Exit 2, one stderr line `ecgkit kaggle: error: ...` naming every fact, no traceback."
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('ecgkit kaggle: error: '), lines
    for f in facts: assert str(f) in lines[0], (f, lines[0])
    return lines[0]


def no_secret_in(*folders):
    "No file under `folders` holds the sentinel credentials (text or bytes)."
    files = [p for d in folders for p in Path(d).rglob('*') if p.is_file()]
    assert files
    for p in files:
        b = p.read_bytes()
        assert SECRET_USER.encode() not in b and SECRET_KEY.encode() not in b, p


def test_build_validate_push(kg, tmp_path):
    r = kg('build', 'submit', '--user', 'someone', '--out', tmp_path/'K')
    assert r.returncode == 0 and r.stdout.startswith(f"built {tmp_path/'K'}: someone/ecgkit-submit runs submit.ipynb"), r.stderr
    assert 'internet off' in r.stdout and 'someone/ecgkit-package, physionet-ecg-image-digitization' in r.stdout
    assert kg('validate', tmp_path/'K').stdout == f"{tmp_path/'K'}: kernel-metadata.json ok\n"
    r = kg('push', tmp_path/'K', '--dry-run', creds=False)
    assert (r.returncode, r.stdout, kg.calls()) == (0, f"kaggle kernels push -p {tmp_path/'K'}\n", [])
    r = kg('push', tmp_path/'K')
    assert r.returncode == 0 and 'successfully pushed' in r.stdout and 'code/someone/ecgkit-submit' in r.stdout, r.stderr
    assert kg.calls() == [['kernels', 'push', '-p', str(tmp_path/'K')]]
    no_secret_in(tmp_path/'K', tmp_path/'calls.jsonl')


def test_build_train(kg, tmp_path):
    (tmp_path/'c.yaml').write_text('train:\n  lr: 0.02\n')
    r = kg('build', 'train', '--user', 'u', '--stage', '0', '--accelerator', 'gpu', '--config', tmp_path/'c.yaml',
           '-p', 'epochs', '2', '--out', tmp_path/'T')
    assert r.returncode == 0 and 'u/ecgkit-train-0-gpu runs train.ipynb (gpu true, tpu false, internet off' in r.stdout, r.stderr
    assert r.stderr == ''
    nb = json.loads((tmp_path/'T'/'train.ipynb').read_text())
    inj = next(''.join(c['source']) for c in nb['cells'] if 'injected-parameters' in c['metadata'].get('tags', []))
    assert 'device = "cuda"' in inj and 'epochs = 2' in inj and 'lr: 0.02' in inj and 'run_dir = "/kaggle/working/runs"' in inj
    assert nb['metadata']['kernelspec']['name'] == 'python3'
    r = kg('build', 'train', '--user', 'u', '--stage', '0', '--accelerator', 'tpu', '--internet', '--out', tmp_path/'T')
    m = json.loads((tmp_path/'T'/'kernel-metadata.json').read_text())
    assert r.returncode == 0 and (m['enable_tpu'], m['enable_gpu'], m['enable_internet']) == (True, False, True)
    assert 'warning: a competition source with enable_internet true' in kg('validate', tmp_path/'T').stderr


def test_package_and_push_package(kg, tmp_path):
    r = kg('package', '--user', 'u', '--out', tmp_path/'P')
    assert r.returncode == 0 and r.stdout.startswith(f"wrote {tmp_path/'P'}: ecgkit-") and ' MB ' in r.stdout, r.stderr
    assert json.loads((tmp_path/'P'/'dataset-metadata.json').read_text())['id'] == 'u/ecgkit-package'
    assert kg('push-package', tmp_path/'P').returncode == 0
    assert kg('push-package', tmp_path/'P', '--create').returncode == 0
    calls = kg.calls()
    assert calls[0][:4] == ['datasets', 'version', '-p', str(tmp_path/'P')] and calls[0][-2:] == ['-r', 'skip']
    assert calls[1] == ['datasets', 'create', '-p', str(tmp_path/'P'), '-r', 'skip']
    no_secret_in(tmp_path/'P', tmp_path/'calls.jsonl')


def test_download_subset_resumes(kg, tmp_path):
    r = kg('download', '--subset', '2', '--seed', '1', '--out', tmp_path/'D')
    assert r.returncode == 0 and 'downloaded 4 of 4 files (0 were there) for 2 ids' in r.stdout, (r.stdout, r.stderr)
    tr = pd.read_csv(tmp_path/'D'/'train.csv', dtype={'id': str})
    assert len(tr) == 2 and set(tr['id']) <= set(SAMPLE_IDS)
    for i in tr['id']: assert (tmp_path/'D'/'train'/i/f'{i}.csv').is_file() and (tmp_path/'D'/'train'/i/f'{i}-0001.png').is_file()
    assert not list((tmp_path/'D').rglob('*.zip'))
    n = len(kg.calls())
    r = kg('download', '--subset', '2', '--seed', '1', '--out', tmp_path/'D')
    assert 'downloaded 0 of 4 files (4 were there)' in r.stdout and len(kg.calls()) == n     # nothing asked again
    user_error(kg('download', '--subset', '2', '--seed', '2', '--out', tmp_path/'D'), 'holds another subset')


@pytest.mark.parametrize('mode,fact', [('rules', 'accept the competition rules'), ('unauthorized', 'rejected the credentials (401)')])
def test_download_refused(kg, tmp_path, mode, fact):
    user_error(kg('download', '--subset', '1', '--out', tmp_path/'D', mode=mode), fact)
    assert not (tmp_path/'D'/'train.csv').exists()


def test_no_credentials_one_line(kg, tmp_path):
    kg('build', 'submit', '--user', 'u', '--out', tmp_path/'K')
    user_error(kg('push', tmp_path/'K', creds=False), 'no Kaggle credentials', 'KAGGLE_API_TOKEN')
    user_error(kg('download', '--subset', '1', '--out', tmp_path/'D', creds=False), 'no Kaggle credentials')
    assert kg.calls() == []
    (tmp_path/'home'/'.kaggle').mkdir(); (tmp_path/'home'/'.kaggle'/'kaggle.json').write_text('{}')   # the CLI's own file
    assert kg('push', tmp_path/'K', creds=False).returncode == 0


def test_user_errors(kg, tmp_path):
    (tmp_path/'mine').mkdir(); (tmp_path/'mine'/'notes.txt').write_text('mine')
    user_error(kg('build', 'submit', '--user', 'u', '--out', tmp_path/'mine'), 'not a kernel folder ecgkit built')
    user_error(kg('build', 'train', '--user', 'u', '--out', tmp_path/'T'), 'needs --stage and --accelerator')
    user_error(kg('build', 'train', '--user', 'u', '--stage', '0', '--accelerator', 'gpu', '--config', tmp_path/'no.yaml',
                  '--out', tmp_path/'T'), 'config file not found')
    user_error(kg('build', 'train', '--user', 'u', '--stage', '0', '--accelerator', 'gpu', '-p', 'epoch', '3', '--out', tmp_path/'T'),
               "unknown notebook parameter 'epoch'")
    user_error(kg('validate', tmp_path/'mine'), 'no kernel-metadata.json')
    (tmp_path/'mine'/'kernel-metadata.json').write_text(json.dumps({'id': 'bad', 'title': 'x', 'code_file': 'k.py',
                                                                   'language': 'python', 'kernel_type': 'notebook', 'enable_gpu': 'yes'}))
    user_error(kg('validate', tmp_path/'mine'), 'not user/slug', 'shorter than 5', 'code file k.py not found', 'enable_gpu is not true/false')
    user_error(kg('package', '--out', tmp_path/'mine'), 'not an ecgkit package folder')
    user_error(kg('package', '--out', tmp_path/'P', '--extra', tmp_path/'mine'/'notes.txt'), 'not a wheel file')
    user_error(kg('push-package', tmp_path/'mine'), 'not an ecgkit package folder')
    user_error(kg('push', tmp_path/'mine'), 'not user/slug')
    user_error(kg('download', '--subset', '1', '--types', '0002', '--out', tmp_path/'D'), 'unknown image type 0002')
    user_error(kg('download', '--subset', '9', '--out', tmp_path/'D'), 'the competition has 3 training ids')
    user_error(kg('rehearse', tmp_path/'mine', '--out', tmp_path/'W'), 'not user/slug')
    assert (tmp_path/'mine'/'notes.txt').read_text() == 'mine'
    for p in ('T', 'P', 'W'): assert not (tmp_path/p).exists(), p
    kg('build', 'submit', '--user', 'u', '--out', tmp_path/'K')
    user_error(kg('push', tmp_path/'K', mode='push-error'), 'Kernel push error: Notebook exceeds the maximum size')
    user_error(kg('rehearse', tmp_path/'K', '--out', tmp_path/'W'), 'needs --input TESTVIEW')
    user_error(kg('rehearse', tmp_path/'K', '--input', tmp_path/'mine', '--out', tmp_path/'W'), 'no test.csv in')
    from ecgkit.submission import make_test_view
    view = make_test_view(tmp_path/'competition', tmp_path/'V', '0001', ids=SAMPLE_IDS[:1], show_progress=False).root
    user_error(kg('rehearse', tmp_path/'K', '--input', view, '--out', tmp_path/'mine'), 'not an earlier rehearsal')
    r = kg('build', 'submit', '--user', 'u', '--out', tmp_path/'K', '--bogus')
    assert r.returncode == 2 and r.stderr.startswith('ecgkit: error: unrecognized arguments: --bogus'), r.stderr
