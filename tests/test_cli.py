"""End-to-end tests of the `ecgkit` console script, run in subprocesses.

The spec for user errors: missing file, wrong columns, NaN, missing or extra ids, wrong lengths → one clear line on
stderr, exit code 2, no traceback, nothing half-written."""
import json

import numpy as np
import pandas as pd
import pytest

import ecgkit
from ecgkit.submission import make_test_view

PERFECT_DB = 25.8433                  # 10·log10(384): the metric's ceiling, what the ground truth scores
SAMPLE_IDS = ['1479396917', '3049328193', '3192557192']          # the bundled records with a clean 0001 image
SAMPLE_FS = {250: 1, 256: 1, 500: 2, 1000: 1, 1025: 1}            # records per rate, over all 6 bundled records
DEVSET_TYPES = {'0001': 38, '0003': 9, '0004': 9, '0005': 9, '0009': 9}


# ---------------------------------------------------------------------------------------------------- helpers

def read_frame(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={'id': str})

def write_csv(df: pd.DataFrame, path):
    df.to_csv(path, index=False)
    return path

def truth_of(solution: pd.DataFrame) -> pd.DataFrame:
    "The ground-truth submission (id, value) of a solution frame."
    return solution[['id', 'value']].copy()

def rows_of(df: pd.DataFrame, rid: str, lead: str = None) -> pd.Series:
    "Mask of the rows of record `rid` (and `lead`)."
    parts = df['id'].str.rsplit('_', n=2)
    mask = parts.str[0] == rid
    return mask & (parts.str[2] == lead) if lead else mask

def assert_user_error(r, *facts, quiet=True):
    """An error run: exit code 2, exactly one non-empty stderr line naming every one of `facts`, no traceback, and
    (when `quiet`) nothing on stdout."""
    assert r.returncode == 2, f"exit code {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    if quiet: assert r.stdout.strip() == '', r.stdout
    assert 'Traceback' not in r.stderr, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected one stderr line, got {lines!r}"
    line = lines[0]
    assert line.startswith('ecgkit') and 'error' in line, line
    for fact in facts: assert str(fact) in line, f"{fact!r} not in {line!r}"
    return line

def assert_nothing_written(path):
    "`path` does not exist, or is a folder holding no file at any depth (not even a temp file)."
    assert not path.exists() or (path.is_dir() and not [p for p in path.rglob('*') if not p.is_dir()]), \
        sorted(map(str, path.rglob('*')))

def score_json(cli, solution, submission) -> dict:
    r = cli('score', '--solution', solution, '--submission', submission, '--json')
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def view(sample, tmp_path_factory):
    "A 0001 test view of the bundled sample (test.csv, test/, solution.csv), shared by the error tests."
    return make_test_view(sample, tmp_path_factory.mktemp('sample-view'), '0001', show_progress=False)

@pytest.fixture(scope='module')
def solution(view) -> pd.DataFrame:
    return read_frame(view.solution_csv)

@pytest.fixture
def truth_csv(solution, tmp_path):
    return write_csv(truth_of(solution), tmp_path/'truth.csv')


# ---------------------------------------------------------------------------------------------------- happy path

def test_version(cli):
    r = cli('--version')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f'ecgkit {ecgkit.__version__}'

def test_info_sample(cli, sample):
    r = cli('info', sample)
    assert r.returncode == 0, r.stderr
    assert '6 ids' in r.stdout
    for fs, n in SAMPLE_FS.items(): assert f'{fs} × {n}' in r.stdout
    assert '0001 × 3' in r.stdout

def test_info_lists_ids(cli, sample):
    r = cli('info', sample, '--ids')
    assert r.returncode == 0, r.stderr
    assert set(SAMPLE_IDS) <= set(r.stdout.splitlines())

def test_testview_validate_score_sample(cli, sample, tmp_path):
    "The whole loop on the bundled sample: make a test view, validate and score the ground truth."
    out = tmp_path/'view'
    r = cli('testview', sample, '--type', '0001', '--out', out)
    assert r.returncode == 0, r.stderr
    assert '3 records' in r.stdout
    assert sorted(p.name for p in (out/'test').iterdir()) == [f'{i}.png' for i in SAMPLE_IDS]
    test = pd.read_csv(out/'test.csv', dtype={'id': str})
    assert list(test.columns) == ['id', 'lead', 'fs', 'number_of_rows']
    assert len(test) == 3 * 12 and sorted(test['id'].unique()) == SAMPLE_IDS
    sol = read_frame(out/'solution.csv')
    assert list(sol.columns) == ['id', 'value', 'fs'] and len(sol) == test['number_of_rows'].sum()

    r = cli('validate', '--test', out/'test.csv', '--submission', out/'solution.csv')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('valid submission')

    truth = write_csv(truth_of(sol), tmp_path/'truth.csv')
    d = score_json(cli, out/'solution.csv', truth)
    assert round(d['score_db'], 4) == PERFECT_DB
    assert d['uncapped_db'] is None          # a perfect record has infinite uncapped SNR
    assert d['records'] == 3
    assert sorted(p['id'] for p in d['per_record']) == SAMPLE_IDS
    assert all(round(p['snr_db'], 4) == PERFECT_DB for p in d['per_record'])

def test_score_plain_output(cli, view, truth_csv):
    r = cli('score', '--solution', view.solution_csv, '--submission', truth_csv)
    assert r.returncode == 0, r.stderr
    assert f'{PERFECT_DB:.4f}' in r.stdout and 'over 3 records' in r.stdout
    assert 'per-lead SNR' in r.stdout

def test_score_writes_per_record_and_per_lead(cli, view, truth_csv, tmp_path):
    per_record, per_lead = tmp_path/'reports'/'per_record.csv', tmp_path/'reports'/'per_lead.csv'
    r = cli('score', '--solution', view.solution_csv, '--submission', truth_csv,
            '--per-record', per_record, '--per-lead', per_lead)
    assert r.returncode == 0, r.stderr
    recs = pd.read_csv(per_record, dtype={'id': str})
    assert len(recs) == 3 and sorted(recs['id']) == SAMPLE_IDS
    assert list(recs.columns) == ['id', 'fs', 'snr_db', 'snr_db_uncapped', 'signal', 'noise']
    assert np.allclose(recs['snr_db'], 10 * np.log10(384))
    assert len(pd.read_csv(per_lead)) == 3 * 12
    assert sorted(p.name for p in per_record.parent.iterdir()) == ['per_lead.csv', 'per_record.csv']   # no temp left

def test_score_parquet_submission(cli, view, solution, tmp_path):
    csv = write_csv(truth_of(solution), tmp_path/'truth.csv')
    parquet = tmp_path/'truth.parquet'
    truth_of(solution).to_parquet(parquet, index=False)
    assert score_json(cli, view.solution_csv, parquet) == score_json(cli, view.solution_csv, csv)

def test_score_ignores_row_order(cli, view, solution, tmp_path):
    shuffled = truth_of(solution).sample(frac=1, random_state=0)
    d = score_json(cli, view.solution_csv, write_csv(shuffled, tmp_path/'shuffled.csv'))
    assert round(d['score_db'], 4) == PERFECT_DB and d['records'] == 3

def test_score_is_not_perfect_for_a_noisy_submission(cli, view, solution, tmp_path):
    "The score depends on the submission: noise lowers it below the ceiling."
    sub = truth_of(solution)
    sub['value'] += np.random.default_rng(0).normal(0, 0.2, len(sub))
    d = score_json(cli, view.solution_csv, write_csv(sub, tmp_path/'noisy.csv'))
    assert d['score_db'] < PERFECT_DB - 1 and d['uncapped_db'] is not None and d['records'] == 3


# ---------------------------------------------------------------------------------------------------- score errors
# Each case: build(solution frame, folder) -> (solution path, submission path), and the facts the error line must
# name; '{sol}' and '{sub}' in a fact stand for those paths.

def _truth(sol, d): return sol, truth_of(sol)

def _with_value(value):
    def build(sol, d):
        sub = truth_of(sol).astype({'value': object})
        sub.loc[7, 'value'] = value
        return sol, sub
    return build

def _drop_record(sol, d):
    sub = truth_of(sol)
    return sol, sub[~rows_of(sub, SAMPLE_IDS[-1])]

def _extra_ids(sol, d):
    sub = truth_of(sol)
    return sol, pd.concat([sub, pd.DataFrame({'id': ['9999_0_I', '9999_1_I'], 'value': [0.0, 0.0]})])

def _duplicated_ids(sol, d):
    sub = truth_of(sol)
    return sol, pd.concat([sub, sub.iloc[[10]]])

def _short_lead_ii(sol, d):
    "Lead II of the first record 10 rows short of 10·fs, in both solution and submission."
    cut = sol[rows_of(sol, SAMPLE_IDS[0], 'II')].index[-10:]
    sol = sol.drop(cut)
    return sol, truth_of(sol)

def _mixed_fs(sol, d):
    sol = sol.copy()
    sol.loc[rows_of(sol, SAMPLE_IDS[0], 'V6'), 'fs'] += 1
    return sol, truth_of(sol)

def _files(sol_path=None, sub_path=None):
    "A case given by file paths (relative to the case folder) instead of frames."
    def build(sol, d):
        return (d/sol_path if sol_path else sol), (d/sub_path if sub_path else truth_of(sol))
    return build

def _raw_submission(text):
    def build(sol, d):
        (d/'raw.csv').write_text(text)
        return sol, d/'raw.csv'
    return build

def _columns(sol_cols=None, sub_cols=None):
    def build(sol, d):
        s = sol[sol_cols] if sol_cols else sol
        sub = truth_of(sol)
        return s, sub.rename(columns=dict(zip(sub.columns, sub_cols))) if sub_cols else sub
    return build

SCORE_ERRORS = [
    pytest.param(_files(sol_path='nope.csv'), ['solution not found', '{sol}'], id='missing-solution'),
    pytest.param(_files(sub_path='nope.csv'), ['submission not found', '{sub}'], id='missing-submission'),
    pytest.param(_files(sub_path='.'), ['{sub}'], id='submission-is-a-directory'),
    pytest.param(_files(sol_path='.'), ['{sol}'], id='solution-is-a-directory'),
    pytest.param(_columns(sub_cols=['id', 'prediction']), ['lacks column(s) value', '{sub}'], id='no-value-column'),
    pytest.param(_columns(sub_cols=['row_id', 'value']), ['lacks column(s) id', '{sub}'], id='no-id-column'),
    pytest.param(_columns(sol_cols=['id', 'value']), ['lacks column(s) fs', '{sol}'], id='solution-without-fs'),
    pytest.param(_with_value(np.nan), ['NaN', 'submission'], id='nan-value'),
    pytest.param(_with_value(np.inf), ['Infinity', 'submission'], id='inf-value'),
    pytest.param(_with_value(-np.inf), ['Infinity', 'submission'], id='minus-inf-value'),
    pytest.param(_with_value('abc'), ["'abc'", '{sub}'], id='non-numeric-value'),
    pytest.param(_drop_record, ['missing', SAMPLE_IDS[-1]], id='missing-ids'),
    pytest.param(_extra_ids, ['not in the solution', '9999_0_I'], id='extra-ids'),
    pytest.param(_duplicated_ids, ['duplicated'], id='duplicated-ids'),
    pytest.param(_short_lead_ii, ['The sequence_length should be sampling frequency * 10s', 'lead II', SAMPLE_IDS[0]],
                 id='wrong-length'),
    pytest.param(_mixed_fs, ['Sampling frequency should be consistent'], id='inconsistent-fs'),
    pytest.param(_raw_submission(''), ['Empty', '{sub}'], id='empty-file'),
    pytest.param(_raw_submission('id,value\n'), ['missing'], id='header-only'),
]

@pytest.mark.parametrize('build, facts', SCORE_ERRORS)
def test_score_user_errors(cli, solution, tmp_path, build, facts):
    case = tmp_path/'case'
    case.mkdir()
    sol, sub = build(solution, case)
    sol = sol if not isinstance(sol, pd.DataFrame) else write_csv(sol, case/'solution.csv')
    sub = sub if not isinstance(sub, pd.DataFrame) else write_csv(sub, case/'submission.csv')
    reports = tmp_path/'reports'
    r = cli('score', '--solution', sol, '--submission', sub, '--json',
            '--per-record', reports/'per_record.csv', '--per-lead', reports/'per_lead.csv')
    assert_user_error(r, *(f.format(sol=sol, sub=sub) for f in facts))
    assert_nothing_written(reports)


@pytest.fixture
def unwritable_per_lead(cli, view, truth_csv, tmp_path):
    "Score the truth with a good --per-record path and a --per-lead path under a plain file (so not writable)."
    (tmp_path/'afile').write_text('')
    reports = tmp_path/'reports'
    r = cli('score', '--solution', view.solution_csv, '--submission', truth_csv,
            '--per-record', reports/'per_record.csv', '--per-lead', tmp_path/'afile'/'per_lead.csv')
    return r, reports

def test_score_unwritable_report_path(unwritable_per_lead, tmp_path):
    r, _ = unwritable_per_lead
    assert_user_error(r, tmp_path/'afile')

def test_score_unwritable_report_path_writes_nothing(unwritable_per_lead):
    _, reports = unwritable_per_lead
    assert_nothing_written(reports)


# ---------------------------------------------------------------------------------------------------- validate errors

def _test_csv(view, d, drop=None):
    if drop is None: return view.test_csv
    return write_csv(pd.read_csv(view.test_csv, dtype={'id': str}).drop(columns=[drop]), d/'test.csv')

VALIDATE_ERRORS = [
    pytest.param(_files(sub_path='nope.csv'), None, ['submission not found', '{sub}'], id='missing-submission'),
    pytest.param(_truth, 'number_of_rows', ['lacks column(s) number_of_rows', '{test}'], id='test-without-number_of_rows'),
    pytest.param(_drop_record, None, ['missing ids', SAMPLE_IDS[-1]], id='missing-ids'),
    pytest.param(_extra_ids, None, ['unexpected ids', '9999_0_I'], id='extra-ids'),
    pytest.param(_duplicated_ids, None, ['duplicated ids'], id='duplicated-ids'),
    pytest.param(_with_value(np.nan), None, ['non-finite'], id='nan-value'),
    pytest.param(_with_value(np.inf), None, ['non-finite'], id='inf-value'),
    pytest.param(_columns(sub_cols=['id', 'prediction']), None, ['lacks column(s) value'], id='no-value-column'),
]

@pytest.mark.parametrize('build, drop, facts', VALIDATE_ERRORS)
def test_validate_user_errors(cli, view, solution, tmp_path, build, drop, facts):
    _, sub = build(solution, tmp_path)
    sub = sub if not isinstance(sub, pd.DataFrame) else write_csv(sub, tmp_path/'submission.csv')
    test = _test_csv(view, tmp_path, drop)
    r = cli('validate', '--test', test, '--submission', sub)
    assert_user_error(r, *(f.format(sub=sub, test=test) for f in facts))

def test_validate_missing_test_csv(cli, truth_csv, tmp_path):
    r = cli('validate', '--test', tmp_path/'nope'/'test.csv', '--submission', truth_csv)
    assert_user_error(r, 'test.csv not found', tmp_path/'nope'/'test.csv')


# ---------------------------------------------------------------------------------------------------- testview, info

@pytest.mark.parametrize('where, args, facts', [
    pytest.param('missing', ['--type', '0001'], ['no competition data', '{train}'], id='missing-train-folder'),
    pytest.param('sample', ['--type', '0012'], ['no record', 'type 0012'], id='type-without-images'),
    pytest.param('sample', ['--type', 'abcd'], ['unknown image type abcd'], id='unknown-type'),
    pytest.param('sample', ['--ids', '1479396917,42'], ['42', 'not in'], id='unknown-id'),
])
def test_testview_user_errors(cli, sample, tmp_path, where, args, facts):
    train = sample if where == 'sample' else tmp_path/'no-such-folder'
    out = tmp_path/'view'
    r = cli('testview', train, '--out', out, *args)
    assert_user_error(r, *(f.format(train=train) for f in facts))
    assert not (out/'test.csv').exists() and not (out/'solution.csv').exists()
    assert_nothing_written(out)

def test_testview_rerun_leaves_no_stale_images(cli, sample, tmp_path):
    out = tmp_path/'view'
    assert cli('testview', sample, '--out', out).returncode == 0
    r = cli('testview', sample, '--out', out, '--ids', SAMPLE_IDS[0], '--overwrite')     # another view: only when asked
    assert r.returncode == 0, r.stderr
    assert set(pd.read_csv(out/'test.csv', dtype={'id': str})['id']) == {SAMPLE_IDS[0]}
    assert sorted(p.name for p in (out/'test').iterdir()) == [f'{SAMPLE_IDS[0]}.png']

def test_info_without_competition_data(cli, tmp_path):
    (tmp_path/'notes.txt').write_text('no train.csv here')
    assert_user_error(cli('info', tmp_path), 'no competition data', tmp_path)

@pytest.fixture
def bad_train_csv(tmp_path):
    (tmp_path/'train.csv').write_text('id,fs\n1,500\n')
    return tmp_path

def test_info_bad_train_csv(cli, bad_train_csv):
    assert_user_error(cli('info', bad_train_csv), 'lacks column(s) sig_len', bad_train_csv/'train.csv', quiet=False)

def test_info_bad_train_csv_prints_nothing(cli, bad_train_csv):
    assert cli('info', bad_train_csv).stdout == ''


# ---------------------------------------------------------------------------------------------------- argparse errors

@pytest.mark.parametrize('args, fact', [
    pytest.param([], 'required', id='no-command'),
    pytest.param(['bogus'], "invalid choice: 'bogus'", id='unknown-command'),
    pytest.param(['score', '--solution', 'x.csv'], '--submission', id='score-missing-option'),
    pytest.param(['validate', '--submission', 'x.csv'], '--test', id='validate-missing-option'),
    pytest.param(['testview', 'data/sample'], '--out', id='testview-missing-out'),
    pytest.param(['score', '--solution', 'a', '--submission', 'b', '--bogus'], '--bogus', id='unknown-option'),
])
def test_argparse_errors(cli, args, fact):
    assert_user_error(cli(*args), fact)


# ---------------------------------------------------------------------------------------------------- devset

@pytest.mark.parametrize('image_type', sorted(DEVSET_TYPES))
def test_devset_truth_scores_the_ceiling(cli, devset, tmp_path, image_type):
    out = tmp_path/'view'
    r = cli('testview', devset, '--type', image_type, '--out', out)
    assert r.returncode == 0, r.stderr
    n = DEVSET_TYPES[image_type]
    assert len(list((out/'test').glob('*.png'))) == n
    truth = write_csv(truth_of(read_frame(out/'solution.csv')), tmp_path/'truth.csv')
    d = score_json(cli, out/'solution.csv', truth)
    assert round(d['score_db'], 4) == PERFECT_DB
    assert d['records'] == n and len(d['per_record']) == n
