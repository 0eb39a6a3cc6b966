"""kill -9 of a training process mid-epoch, then `fit(resume=True)` in a new process: the final weights, the batch
losses and the epoch rows equal those of an uninterrupted run with the same seed, bit for bit (CPU; and, as a slow
test, XLA's CPU device)."""
import importlib.util, os, signal, subprocess, sys, time

import pytest

torch = pytest.importorskip('torch')
from ecgkit.train.checkpoint import load_checkpoint

# 3 epochs of 32 batches; latest.pt every 3 optimizer steps
OVERRIDES = ['train.epochs=3', 'checkpoint.save_interval_steps=3']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore', 'PJRT_DEVICE': 'CPU'}


def toy_cmd(run_dir, device, resume=False, step_delay=0.0):
    over = OVERRIDES + [f'device.device={device}']
    code = (f'from ecgkit.train.testing import train_toy; '
            f'train_toy({str(run_dir)!r}, {over!r}, resume={resume}, step_delay={step_delay})')
    return [sys.executable, '-c', code]


def run_toy(run_dir, device, resume=False):
    r = subprocess.run(toy_cmd(run_dir, device, resume), capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]


def position(path):
    "(epoch, iter, step) of a checkpoint, or None while it does not exist yet."
    try: ck = load_checkpoint(path)
    except FileNotFoundError: return None
    return ck['epoch'], ck['iter'], ck['step']


no_xla = importlib.util.find_spec('torch_xla') is None


@pytest.mark.parametrize('device', ['cpu', pytest.param('xla', marks=[
    pytest.mark.slow, pytest.mark.skipif(no_xla, reason='torch_xla is not installed')])])
def test_kill_mid_epoch_then_resume_equals_uninterrupted(tmp_path, device):
    ref_dir, run_dir = tmp_path/'ref', tmp_path/'killed'
    ref_err = open(tmp_path/'ref.stderr', 'w')
    ref = subprocess.Popen(toy_cmd(ref_dir, device), stdout=subprocess.DEVNULL, stderr=ref_err, env=ENV)
    p = subprocess.Popen(toy_cmd(run_dir, device, step_delay=0.04), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, env=ENV)
    latest, deadline = run_dir/'checkpoints'/'latest.pt', time.monotonic() + 120
    try:
        while True:                                        # wait until it is well inside epoch 1, then kill -9
            assert p.poll() is None, 'the run ended before it could be killed'
            assert time.monotonic() < deadline, 'the run never reached epoch 1 batch 4'
            pos = position(latest)
            if pos and pos[0] == 1 and pos[1] >= 4: break
            time.sleep(0.02)
    finally:
        os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL
    e, i, s = position(latest)
    assert e == 1 and 0 < i < 32, (e, i, s)                # a mid-epoch checkpoint is what we resume from
    assert not (run_dir/'checkpoints'/'final.pt').exists()

    run_toy(run_dir, device, resume=True)
    assert ref.wait(timeout=300) == 0, (tmp_path/'ref.stderr').read_text()[-3000:]
    ref_err.close()
    assert f'resumed from latest.pt at epoch 1 batch {i} (step {s})' in (run_dir/'train.log').read_text()
    assert not list((run_dir/'checkpoints').glob('.*.tmp'))      # the killed run's temp files were swept

    a, b = load_checkpoint(ref_dir/'checkpoints'/'final.pt'), load_checkpoint(run_dir/'checkpoints'/'final.pt')
    assert (a['epoch'], a['iter'], a['step']) == (b['epoch'], b['iter'], b['step']) == (3, 0, 96)
    assert a['model'].keys() == b['model'].keys()
    for k in a['model']: assert torch.equal(a['model'][k], b['model'][k]), k       # bit for bit
    for x, y in zip(a['optimizer']['state'].values(), b['optimizer']['state'].values()):
        assert all(torch.equal(x[k], y[k]) for k in x)
    assert len(a['losses']) == 96 and a['losses'] == b['losses']
    drop = lambda rows: [{k: v for k, v in r.items() if k != 'time_s'} for r in rows]
    assert drop(a['history']) == drop(b['history'])
    assert (ref_dir/'metrics.csv').read_text().count('\n') == (run_dir/'metrics.csv').read_text().count('\n') == 4
