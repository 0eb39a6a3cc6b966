"""Issue 18, finding 1: a run folder is owned by its run.

- `train` into a folder that holds a run is refused (one line naming --resume and --overwrite); --overwrite moves the
  old run, stale epoch files included, to RUN/archive/<time>/ first.
- `train --resume` / `pipeline --mode resume` keep the run's recorded settings: a larger train.epochs is applied (and
  said), anything else is refused with the list (one line, exit 2), before anything is written.
- `pipeline --status` tells a running pipeline from one whose process is gone; kill -9 of `pipeline` mid-stage, then
  `--mode resume`, ends with the same models and metrics as an uninterrupted run.

The first three run the CLI in this process (`ecgkit.cli.main`, smoke-sized stages); the kill -9 one runs it as
subprocesses.
"""
import hashlib, json, os, signal, subprocess, sys, time, warnings
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip('torch')
from ecgkit.cli import main
from ecgkit.stages.pipeline import pipeline_status
from ecgkit.train.checkpoint import load_checkpoint


def run_cli(capsys, *args):
    "(exit code, stdout, stderr) of `ecgkit ARGS` run in this process."
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(d: Path) -> dict:
    "{relative path: md5} of every file under `d`."
    return {str(p.relative_to(d)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(d.rglob('*')) if p.is_file()}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in err, err
    return lines[0]


def test_train_into_a_run_refuses_and_overwrite_archives_the_old_run(capsys, tmp_path):
    run = tmp_path/'s0'
    code, out, err = run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', run, '--set', 'train.epochs=2')
    assert code == 0, err
    assert (run/'checkpoints'/'epoch_1.pt').is_file()
    before = snapshot(run)

    # again without --resume/--overwrite: one line naming both, exit 2, not a byte of the run changed
    code, out, err = run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', run)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f'ecgkit train: error: {run} already holds a run (') and '--resume' in line and '--overwrite' in line
    assert snapshot(run) == before

    # --overwrite: the whole old run, stale epoch_1.pt included, moves to archive/<time>/; the new run starts clean
    code, out, err = run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', run, '--overwrite')
    assert code == 0, err
    (old,) = (run/'archive').iterdir()
    assert {k: v for k, v in snapshot(old).items()} == before               # byte for byte what was there
    assert 'the previous run was moved to' in out and str(old) in out
    assert not (run/'checkpoints'/'epoch_1.pt').exists()                    # no stale epoch beside the new run
    assert pd.read_csv(run/'metrics.csv')['epoch'].tolist() == [0]
    assert load_checkpoint(run/'checkpoints'/'final.pt')['epoch'] == 1

    # an empty folder (or a new one) trains as before
    (tmp_path/'empty').mkdir()
    code, out, err = run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', tmp_path/'empty')
    assert code == 0, err


def test_train_resume_with_other_settings_is_refused_and_more_epochs_are_said(capsys, tmp_path):
    run = tmp_path/'s0'
    assert run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', run)[0] == 0
    before = snapshot(run)
    for args, diff in [(('--smoke', '--set', 'train.lr=0.1', 'train.batch_size=4'), '(train.batch_size 8 -> 4, train.lr 0.003 -> 0.1)'),
                       ((), '(smoke True -> False)'),
                       (('--smoke', '--set', 'train.epochs=2', 'device.workers=1'), '(device.workers 0 -> 1)')]:
        code, out, err = run_cli(capsys, 'train', '--stage', 0, '--run-dir', run, '--resume', *args)
        assert code == 2, (args, out, err)
        line = one_error_line(err)
        assert f'{run} was trained with other settings {diff}' in line and 'only a larger train.epochs' in line, line
        assert snapshot(run) == before                                       # refused before anything was written
    code, out, err = run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', run, '--resume', '--set', 'train.epochs=2')
    assert code == 0, err
    assert 'train.epochs 1 -> 2: the run continues to epoch 2' in out
    assert pd.read_csv(run/'metrics.csv')['epoch'].tolist() == [0, 1]       # continued, not restarted
    # resuming again needs no --set: the run's own settings (now 2 epochs) are the ones it keeps
    code, out, err = run_cli(capsys, 'train', '--stage', 0, '--smoke', '--run-dir', run, '--resume')
    assert code == 0 and 'train.epochs' not in out, err
    assert pd.read_csv(run/'metrics.csv')['epoch'].tolist() == [0, 1]


def test_pipeline_resume_continues_to_more_epochs_and_refuses_other_changes(capsys, tmp_path):
    root = tmp_path/'pipe'
    code, out, err = run_cli(capsys, 'pipeline', '--stages', 0, '--mode', 'fresh', '--smoke', '--yes', '--root', root)
    assert code == 0, err
    code, out, err = run_cli(capsys, 'pipeline', '--stages', 0, '--smoke', '--root', root, '--set', 'train.epochs=2')
    assert code == 0, err
    assert 'skipped' not in out and 'markers: train.epochs 1 -> 2: the run continues to epoch 2' in out
    prog = json.loads((root/'progress.json').read_text())
    assert prog['steps']['markers']['epochs'] == 2 and prog['steps']['markers']['resumed_from'].endswith('latest.pt')
    assert pd.read_csv(root/'markers'/'metrics.csv')['epoch'].tolist() == [0, 1]
    before = snapshot(root/'markers')
    code, out, err = run_cli(capsys, 'pipeline', '--stages', 0, '--smoke', '--root', root, '--set', 'train.lr=0.1')
    assert code == 2
    assert f"{root/'markers'} was trained with other settings (train.lr 0.003 -> 0.1)" in one_error_line(err)
    assert snapshot(root/'markers') == before
    code, out, err = run_cli(capsys, 'pipeline', '--stages', 0, '--smoke', '--root', root)      # same settings: skipped
    assert code == 0 and 'markers: skipped (final model exists)' in out, err


# --- kill -9 of `ecgkit pipeline` mid-stage -----------------------------------------------------------------------

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
# smoke stages 0 and 1, three epochs of two batches each, latest.pt after every optimizer step
PIPE = ['--stages', '0', '1', '--smoke', '--set', 'train.epochs=3', 'checkpoint.save_interval_steps=1']


def pipeline(root, mode, **kw):
    return subprocess.Popen([sys.executable, '-m', 'ecgkit.cli', 'pipeline', *PIPE, '--mode', mode, '--yes', '--root', str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV, **kw)


def wait_for(cond, proc, timeout=240):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, f'the pipeline ended before the kill point:\n{proc.stdout.read()}'
        assert time.monotonic() - t0 < timeout, 'timed out waiting for the kill point'
        time.sleep(0.01)


def without_time(rows):
    return [{k: v for k, v in r.items() if k != 'time_s'} for r in rows]


@pytest.fixture
def procs():
    "Processes a test starts; any still running at its end (a failed test) are killed."
    started = []
    yield started
    for p in started:
        if p.poll() is None: p.kill(); p.wait()


def test_pipeline_kill9_status_says_stopped_and_resume_equals_uninterrupted(capsys, tmp_path, procs):
    "Compared: each stage's final.pt and best.pt model weights, final.pt's batch losses and epoch rows, metrics.csv and final_metrics.json (all but times)."
    ref_root, root = tmp_path/'ref', tmp_path/'killed'
    ref = pipeline(ref_root, 'fresh'); procs.append(ref)       # the uninterrupted run, alongside
    p = pipeline(root, 'fresh'); procs.append(p)
    latest = root/'stage1'/'checkpoints'/'latest.pt'
    wait_for(latest.is_file, p)                                 # stage 0 done, stage 1 one step in
    os.kill(p.pid, signal.SIGSTOP)                              # hold it there while the status is read
    st = pipeline_status(root)
    assert st['state'] == 'running' and st['process'].startswith(f'running (process {p.pid}, heartbeat '), st
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    assert load_checkpoint(latest)['epoch'] < 3                 # killed mid-stage (with 3 epochs to train)
    st = pipeline_status(root)
    assert (st['state'], st['process']) == ('stopped', f'stopped (process {p.pid} is gone)')
    assert {r['stage']: r['status'] for r in st['stages']}['stage1'] == 'interrupted'
    code, out, err = run_cli(capsys, 'pipeline', '--status', '--root', root)
    assert code == 0 and out.splitlines()[0].endswith(f'; stopped (process {p.pid} is gone)') and 'running' not in out, out

    r = pipeline(root, 'resume'); procs.append(r)
    out_resume = r.communicate(timeout=300)[0]                  # same command, --mode resume
    assert r.returncode == 0, out_resume
    assert 'markers: skipped (final model exists)' in out_resume
    prog = json.loads((root/'progress.json').read_text())
    assert prog['steps']['stage1']['resumed_from'].endswith('latest.pt') and prog['ended']   # continued mid-stage
    out_ref = ref.communicate(timeout=300)[0]
    assert ref.returncode == 0, out_ref

    for stage in ('markers', 'stage1'):
        a, b = ref_root/stage, root/stage
        for name in ('final.pt', 'best.pt'):
            ca, cb = load_checkpoint(a/'checkpoints'/name), load_checkpoint(b/'checkpoints'/name)
            assert ca['model'].keys() == cb['model'].keys()
            assert all(torch.equal(ca['model'][k], cb['model'][k]) for k in ca['model']), (stage, name)
        assert ca['losses'] == cb['losses'] and without_time(ca['history']) == without_time(cb['history'])
        ma, mb = pd.read_csv(a/'metrics.csv').drop(columns='time_s'), pd.read_csv(b/'metrics.csv').drop(columns='time_s')
        assert len(ma) == 3 and ma.equals(mb), (stage, ma, mb)
        fa, fb = (json.loads((d/'final_metrics.json').read_text()) for d in (a, b))
        assert fa.pop('time_s') >= 0 and fb.pop('time_s') >= 0 and fa == fb
