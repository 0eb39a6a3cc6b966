"""papermill runs nbs/train.ipynb as a smoke run and leaves a readable record (curves inline, no error); the
notebook's own example `-p overrides '["train.lr=0.01"]'` (a list written as a string) is applied (issue 18)."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_train_notebook_smoke(tmp_path):
    out = tmp_path/'train_s0.ipynb'
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    r = subprocess.run([sys.executable, '-m', 'papermill', str(ROOT/'nbs'/'train.ipynb'), str(out), '-k', 'python3',
                        '-p', 'stage', '0', '-p', 'smoke', 'True', '-p', 'run_dir', str(tmp_path/'runs'),
                        '-p', 'overrides', '["train.lr=0.01"]'],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    nb = json.loads(out.read_text())
    outs = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])]
    assert not [o for o in outs if o.get('output_type') == 'error']
    assert any('image/png' in o.get('data', {}) for o in outs), 'the curves are shown inline'
    assert any('text/html' in o.get('data', {}) and 'orient_acc' in ''.join(o['data']['text/html']) for o in outs)
    injected = [c for c in nb['cells'] if 'injected-parameters' in c.get('metadata', {}).get('tags', [])]
    assert injected and 'smoke = True' in ''.join(injected[0]['source'])
    assert (tmp_path/'runs'/'markers'/'checkpoints'/'final.pt').is_file()
    assert (tmp_path/'runs'/'markers'/'final_metrics.json').is_file()
    run = tmp_path/'runs'/'markers'
    assert json.loads((run/'stage.json').read_text())['overrides'][0] == 'train.lr=0.01'
    assert '  lr: 0.01\n' in (run/'config.yaml').read_text()
