"""The learned stage 2 from the command line: a trained run shipped by `ecgkit runs export`, then `ecgkit digitize` /
`evaluate` with --method, --stage2 and --weights (and $ECGKIT_WEIGHTS), and the one-line errors."""
import json

import pandas as pd
import pytest

from ecgkit.data import read_test_csv
from ecgkit.submission import make_test_view, read_submission, validate
from conftest import run_cli

CLEAN = ['3049328193']


@pytest.fixture(scope='module')
def shipped(tmp_path_factory):
    "A smoke-trained trace run exported as weights: (run folder, weights root holding trace/)."
    d = tmp_path_factory.mktemp('learned')
    r = run_cli('train', '--stage', 'trace', '--smoke', '--run-dir', d/'run')
    assert r.returncode == 0, r.stderr
    r = run_cli('runs', 'export', d/'run', '--out', d/'w'/'trace')
    assert r.returncode == 0, r.stderr
    assert 'model.pt (fp16' in r.stdout
    return d/'run', d/'w'


@pytest.fixture(scope='module')
def view(sample, tmp_path_factory):
    return make_test_view(sample, tmp_path_factory.mktemp('tv')/'tv', '0001', ids=CLEAN, show_progress=False)


def _sub(cli, view, out, *extra, env=None):
    r = cli('digitize', view.root, '--out', out, *extra, env=env)
    assert r.returncode == 0, r.stderr
    sub = read_submission(out)
    assert validate(read_test_csv(view.test_csv), sub).ok
    return sub, r


def test_export_writes_a_weights_folder_and_refuses_to_overwrite(cli, shipped):
    run, w = shipped
    m = json.loads((w/'trace'/'model.json').read_text())
    assert (m['model'], m['stage'], m['checkpoint']) == ('trace_net', 'trace', 'best.pt') and m['kwargs'] == {'config': 'tiny'}
    assert {p.name for p in (w/'trace').iterdir()} >= {'model.pt', 'model.json', 'config.yaml', 'metrics.csv', 'curves.png'}
    r = cli('runs', 'export', run, '--out', w/'trace')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and '--overwrite' in r.stderr
    assert cli('runs', 'export', run, '--out', w/'trace', '--checkpoint', 'final.pt', '--overwrite').returncode == 0
    assert json.loads((w/'trace'/'model.json').read_text())['checkpoint'] == 'final.pt'


def test_learned_auto_and_classic_from_the_command_line(cli, shipped, view, tmp_path):
    _, w = shipped
    classic, _ = _sub(cli, view, tmp_path/'classic.csv', '--method', 'classic')
    learned, r = _sub(cli, view, tmp_path/'learned.csv', '--method', 'learned', '--weights', w)
    # an untrained (smoke) model is unsure of every page: auto falls back to the classic reader, image by image
    auto, _ = _sub(cli, view, tmp_path/'auto.csv', '--weights', w)
    pd.testing.assert_frame_equal(auto, classic)
    assert not learned['value'].equals(classic['value'])
    stage2, _ = _sub(cli, view, tmp_path/'stage2.csv', '--method', 'classic', '--stage2', 'learned', '--weights', w)
    pd.testing.assert_frame_equal(stage2, learned)
    env, _ = _sub(cli, view, tmp_path/'env.csv', '--method', 'learned', env={'ECGKIT_WEIGHTS': str(w)})
    pd.testing.assert_frame_equal(env, learned)


def test_method_errors_are_one_line(cli, view, tmp_path):
    for extra, words in ((('--weights', tmp_path/'nope'), 'no such folder'), (('--stage1', 'learned'), 'no learned model yet')):
        r = cli('digitize', view.root, '--out', tmp_path/'s.csv', *extra)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
        assert not (tmp_path/'s.csv').exists()


def test_evaluate_takes_the_method(cli, shipped, sample, tmp_path):
    _, w = shipped
    r = cli('evaluate', sample, '--types', '0001', '--ids', CLEAN[0], '--method', 'learned', '--weights', w, '--out', tmp_path/'ev')
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(tmp_path/'ev'/'evaluate.csv', dtype={'type': str})
    assert t['type'].tolist() == ['0001', 'all'] and t['images'].tolist() == [1, 1]
