"`make demo`, the README's first command, runs (the venv is already built by `make test`)."
import shutil, subprocess
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which('make') is None or not (ROOT/'.venv'/'.installed').exists(), reason='needs make and the built .venv')
def test_make_demo():
    r = subprocess.run(['make', '--no-print-directory', 'demo'], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    scores = pd.read_csv(ROOT/'runs'/'demo'/'scores.csv', dtype={'type': str})
    assert set(scores['type']) == {'0001', '0003'} and (scores['score_db'].round(4) == 25.8433).all()
    assert 'digitizer' in r.stdout
