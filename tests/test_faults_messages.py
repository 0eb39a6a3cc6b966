"""Issue 18, findings 7 and 8: what the user reads. Every user error is one line in the kit's words (no numpy, OpenCV
or torch text, no traceback, no warning), the list form of overrides that papermill passes works, `evaluate` keeps
per-image scores and overlays with the truth and the dB, and a wrong `--devset` is refused.

The CLI runs in subprocesses with the environment inherited (so PYTHONPATH carries over) and, unlike the `cli`
fixture of conftest.py, with Python's warnings left on: a warning that reaches the user must show here."""
import json, os, subprocess, sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from ecgkit.data import LEADS

SAMPLE = Path(__file__).resolve().parent.parent/'data'/'sample'
RID = '1479396917'                                     # a bundled record with a clean 0001 image, 500 Hz
LEAKS = ('Traceback', '[ WARN', '[ERROR', 'Warning', 'weights_only', 'zero-size array', 'Error(s) in loading', 'state_dict for')


def ecgkit(*args, cwd=None, timeout=300):
    "Run `python -m ecgkit.cli ARGS` with this environment, warnings as Python shows them by default."
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    return subprocess.run([sys.executable, '-m', 'ecgkit.cli', *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def no_leaks(text: str):
    for leak in LEAKS: assert leak not in text, f"{leak!r} reached the user:\n{text}"


def one_line_error(r, cmd: str, *facts) -> str:
    "Exit code 2, exactly one stderr line `ecgkit CMD: error: ...` naming every one of `facts`, nothing leaked."
    assert r.returncode == 2, f"exit code {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    no_leaks(r.stderr + r.stdout)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    assert lines[0].startswith(f'ecgkit {cmd}: error: '), lines[0]
    for f in facts: assert str(f) in lines[0], f"{f!r} not in {lines[0]!r}"
    return lines[0]


def fake_checkpoint(path: Path, model: dict, run_json: dict = None) -> Path:
    "A file with every key of a learner checkpoint, holding the state dict `model`; `stage.json` beside it if given."
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(model=model, optimizer={}, rng={}, epoch=1, iter=0, step=4, history=[], losses=[], config={}), path)
    if run_json: (path.parent/'stage.json').write_text(json.dumps(run_json))
    return path


@pytest.fixture
def alien_ckpt(tmp_path):
    "A learner checkpoint of a model that is not stage 0's (a lone Linear), its run folder saying markers, smoke."
    return fake_checkpoint(tmp_path/'run'/'best.pt', torch.nn.Linear(3, 2).state_dict(), dict(stage='markers', smoke=True))


# ------------------------------------------------------------------------------------------- images (digitize)

def test_digitize_bad_images_are_reported_in_words(tmp_path):
    """A truncated PNG (OpenCV's '[ WARN ... grfmt_png.cpp' before), a PNG with a broken header (OpenCV's '[ERROR ...')
    and a blank page (numpy's 'zero-size array ...')."""
    d = tmp_path/'view'; (d/'test').mkdir(parents=True)
    ids = ['111', '222', '333']
    rows = [(i, l, 500, 5000 if l == 'II' else 1250) for i in ids for l in LEADS]
    pd.DataFrame(rows, columns=['id', 'lead', 'fs', 'number_of_rows']).to_csv(d/'test.csv', index=False)
    png = (SAMPLE/'train'/RID/f'{RID}-0001.png').read_bytes()
    (d/'test'/'111.png').write_bytes(png[:20000])                                       # cut short
    cv2.imwrite(str(d/'test'/'222.png'), np.full((1700, 2200, 3), 255, np.uint8))       # a blank page
    (d/'test'/'333.png').write_bytes(png[:8] + b'not a header' * 10)                     # PNG signature, then junk
    r = ecgkit('digitize', d, '--out', tmp_path/'sub.csv')
    assert r.returncode == 0, r.stderr                 # images that fail fall back to zeros: the submission is complete
    no_leaks(r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 4, lines                      # one line per fallback, one pointing to the reasons file
    assert lines[0].startswith('111: zero fallback: unreadable image: ') and '111.png: truncated or not an image' in lines[0], lines[0]
    assert lines[1].startswith('222: zero fallback: ') and 'no ECG grid found on the image' in lines[1], lines[1]
    assert lines[2].startswith('333: zero fallback: unreadable image: ') and '333.png: truncated or not an image' in lines[2], lines[2]
    reasons = pd.read_csv(tmp_path/'sub.csv.failures.csv', dtype={'id': str})
    assert reasons['id'].tolist() == ids
    no_leaks(' '.join(reasons['reason']))


# ------------------------------------------------------------------------------------------------ checkpoints

def test_evaluate_run_with_another_models_checkpoint(alien_ckpt):
    "Was: 'Error(s) in loading state_dict for Sequential:' and nothing after it."
    line = one_line_error(ecgkit('evaluate-run', alien_ckpt), 'evaluate-run', alien_ckpt, "does not fit markers's model",
                          'missing', 'unexpected', '--stage')
    assert 'keys: ' in line


def test_evaluate_run_on_files_torch_cannot_read(tmp_path):
    """Was: 'KeyError: 101' for a text file, torch's weights_only paragraph cut mid-word for pickled objects (a truncated
    file: the tests of `read_torch` in nbs/33_train_checkpoint.ipynb)."""
    text = tmp_path/'notes.pt'; text.write_text('hello\n')
    one_line_error(ecgkit('evaluate-run', text, '--stage', '0'), 'evaluate-run', text, 'not a PyTorch file')
    objs = tmp_path/'objects.pt'; torch.save(dict(model=np.zeros(3)), objs)
    one_line_error(ecgkit('evaluate-run', objs, '--stage', '0'), 'evaluate-run', objs, 'holds Python objects besides tensors')


def test_train_with_weights_of_another_model(alien_ckpt, tmp_path):
    r = ecgkit('train', '--stage', '0', '--smoke', '--run-dir', tmp_path/'s0', '--set', f'model.weights_file={alien_ckpt}')
    one_line_error(r, 'train', f'model.weights_file {alien_ckpt} does not fit the model', 'keys: ')


# -------------------------------------------------------------------------------------------------- overrides

def test_overrides_as_papermill_passes_them():
    "Was: unknown config key '[\"train.lr'. (The papermill run itself: tests/test_papermill.py.)"
    r = ecgkit('train', '--stage', '0', '--print-config', '--set', '["train.lr=0.01", "train.epochs=3"]')
    assert r.returncode == 0, r.stderr
    no_leaks(r.stderr)
    assert '  lr: 0.01\n' in r.stdout and '  epochs: 3\n' in r.stdout, r.stdout


# ------------------------------------------------------------------------------------------------- evaluate

def test_evaluate_writes_per_image_scores_and_overlays_with_truth_and_db(tmp_path):
    out, ov = tmp_path/'ev', tmp_path/'ov'
    r = ecgkit('evaluate', SAMPLE, '--types', '0001', '--ids', RID, '--out', out, '--overlays', ov)
    assert r.returncode == 0, r.stderr
    no_leaks(r.stderr)
    im = pd.read_csv(out/'per_image.csv', dtype={'id': str, 'type': str})
    assert im.columns.tolist() == ['id', 'type', 'dB', 'seconds', 'fallback', 'doubt']
    assert im[['id', 'type', 'fallback']].values.tolist() == [[RID, '0001', False]]
    table = pd.read_csv(out/'evaluate.csv', dtype={'type': str}).set_index('type')
    assert abs(im['dB'].iloc[0] - table.loc['all', 'score_db']) < 1e-3 and 10 < im['dB'].iloc[0] < 30
    assert 'per_image.csv' in r.stdout
    img = cv2.imread(str(ov/f'{RID}-0001.png'))[..., ::-1].astype(int)
    corner = img[:40, -140:]
    red = (corner[..., 0] > 150) & (corner[..., 1] < 80) & (corner[..., 2] < 80)
    assert red.sum() > 50, red.sum()                                                  # the dB, written in the corner
    grey = (np.abs(img - 110) < 15).all(2)
    assert grey[60:].sum() > 2000, grey[60:].sum()                                     # the truth, drawn in grey


# -------------------------------------------------------------------------------------------------- gallery

def test_gallery_refuses_a_wrong_devset(tmp_path):
    out = tmp_path/'gallery.png'
    one_line_error(ecgkit('synth', '--gallery', out, '--devset', tmp_path/'wrong'), 'synth', f"no devset at {tmp_path/'wrong'}")
    assert not out.exists()
