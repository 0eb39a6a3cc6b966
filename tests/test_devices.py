"""Devices for real (ecgkit.train.devices, ecgkit.train.testing): 2-process gloo DDP under torchrun equals 1 process with the doubled batch, and a
timm model trained on XLA's CPU device (PJRT_DEVICE=CPU, one device, through torch_xla.launch) matches eager CPU.
Everything runs in subprocesses: torch_xla must not be imported into the pytest process (pytorch/xla#4174)."""
import importlib.util, json, os, subprocess, sys
from pathlib import Path

import pytest

torch = pytest.importorskip('torch')
from ecgkit.train.checkpoint import load_checkpoint

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore', 'PJRT_DEVICE': 'CPU'}
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone']
no_xla = importlib.util.find_spec('torch_xla') is None
no_timm = importlib.util.find_spec('timm') is None


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=ENV)


def finish(p, log, timeout=240):
    p.wait(timeout=timeout)
    assert p.returncode == 0, Path(log.name).read_text()[-4000:]


def test_ddp_two_ranks_equal_one_rank_double_batch(tmp_path):
    b, over = 8, ['train.epochs=2']
    two, one = tmp_path/'ddp2', tmp_path/'one'
    l2, l1 = open(tmp_path/'ddp2.log', 'w'), open(tmp_path/'one.log', 'w')
    p2 = start(TORCHRUN + ['--nproc_per_node', '2', '-m', 'ecgkit.train.testing', 'ddp-toy', '--run-dir', str(two),
                           '--batch-size', str(b), '--backend', 'gloo', *over], l2)
    p1 = start([sys.executable, '-m', 'ecgkit.train.testing', 'ddp-toy', '--run-dir', str(one), '--batch-size', str(2 * b), *over], l1)
    finish(p2, l2); finish(p1, l1)
    c2, c1 = load_checkpoint(two/'checkpoints'/'final.pt'), load_checkpoint(one/'checkpoints'/'final.pt')
    assert 'world 2, 8 per rank, 64 steps' in (two/'train.log').read_text()
    assert c2['step'] == c1['step'] == 64
    assert set(c2['model']) == set(c1['model'])                 # no `module.` prefix from the DDP wrapper
    for k in c1['model']: torch.testing.assert_close(c2['model'][k], c1['model'][k], rtol=0, atol=1e-5)
    assert len(c2['losses']) == len(c1['losses']) == 64
    assert max(abs(a - b) for a, b in zip(c2['losses'], c1['losses'])) < 1e-5
    for r2, r1 in zip(c2['history'], c1['history']):
        for k in ('train_loss', 'valid_loss', 'toy_accuracy'): assert abs(r2[k] - r1[k]) < 1e-5, (k, r2, r1)
    assert c1['losses'][-1] < c1['losses'][0] / 2                  # it learns
    # only rank 0 writes: one run folder, and nothing else appeared next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ddp2', 'ddp2.log', 'one', 'one.log']


LOSS_ATOL = 1e-4      # measured max |xla - eager| over the 4 losses: ~1.3e-6
# Trainable parameters after 4 AdamW steps (lr 1e-3): Adam divides by sqrt(v), so a weight whose gradient is ~0 can
# move by up to ~lr per step on one side and not the other. Measured: max 1.5e-3, mean 4e-8, 3e-5 of the 4.9 M
# weights above 1e-4. So: every weight within 4 * lr, and the mean within 1e-6.
PARAM_MAX, PARAM_MEAN = 4e-3, 1e-6


@pytest.mark.skipif(no_xla or no_timm, reason='needs torch_xla and timm')
def test_xla_cpu_timm_matches_eager(tmp_path):
    "resnet10t, 4 AdamW steps of batch 8 at 32x32, fp32: XLA's CPU device (torch_xla.launch, MpDeviceLoader, xm.optimizer_step, xm.save) vs eager."
    args = ['--model', 'resnet10t', '--steps', '4', '--batch-size', '8', '--size', '32']
    lx, le = open(tmp_path/'xla.log', 'w'), open(tmp_path/'eager.log', 'w')
    px = start([sys.executable, '-m', 'ecgkit.train.testing', 'timm', '--device', 'xla', '--launch', '--out', str(tmp_path/'xla'), *args], lx)
    pe = start([sys.executable, '-m', 'ecgkit.train.testing', 'timm', '--device', 'cpu', '--out', str(tmp_path/'eager'), *args], le)
    finish(pe, le); finish(px, lx)
    rx, re_ = (json.loads((tmp_path/d/'result.json').read_text()) for d in ('xla', 'eager'))
    assert rx['device'].startswith('xla') and re_['device'] == 'cpu'
    diff = max(abs(a - b) for a, b in zip(rx['losses'], re_['losses']))
    assert len(rx['losses']) == 4 and diff < LOSS_ATOL, (rx['losses'], re_['losses'])
    assert rx['losses'][-1] < rx['losses'][0]
    sx = torch.load(tmp_path/'xla'/'xla.pt', weights_only=True)             # xm.save wrote CPU tensors
    se = torch.load(tmp_path/'eager'/'cpu.pt', weights_only=True)
    assert sx['losses'] == rx['losses']
    import timm
    names = {n for n, _ in timm.create_model('resnet10t', pretrained=False, num_classes=2).named_parameters()}
    assert all(sx['model'][k].device.type == 'cpu' for k in names)
    d = torch.cat([(sx['model'][k] - se['model'][k]).abs().flatten() for k in sorted(names)])
    assert d.max() < PARAM_MAX and d.mean() < PARAM_MEAN, (d.max(), d.mean())
    # (BatchNorm running_var is left out: XLA updates it with a slightly different estimate, up to ~2e-2 apart here)


@pytest.mark.skipif(no_xla or no_timm, reason='needs torch_xla and timm')
def test_xla_cpu_bf16_autocast_trains(tmp_path):
    "bf16 autocast on XLA's CPU device (torch.autocast('xla')) runs, and its losses stay near eager fp32's."
    args = ['--model', 'resnet10t', '--steps', '4', '--batch-size', '8', '--size', '32']
    lx, le = open(tmp_path/'xla.log', 'w'), open(tmp_path/'eager.log', 'w')
    px = start([sys.executable, '-m', 'ecgkit.train.testing', 'timm', '--device', 'xla', '--precision', 'bf16',
                '--out', str(tmp_path/'xla'), *args], lx)
    pe = start([sys.executable, '-m', 'ecgkit.train.testing', 'timm', '--device', 'cpu', '--out', str(tmp_path/'eager'), *args], le)
    finish(pe, le); finish(px, lx)
    rx, re_ = (json.loads((tmp_path/d/'result.json').read_text()) for d in ('xla', 'eager'))
    assert rx['precision'] == 'bf16'
    assert max(abs(a - b) for a, b in zip(rx['losses'], re_['losses'])) < 0.05, (rx['losses'], re_['losses'])


LEARNER_XLA = '''
import json, sys, torch
from torch import nn
from ecgkit.train.loop import Learner
from ecgkit.train.config import RunConfig
from ecgkit.train.data import make_loaders
from ecgkit.train.testing import ToyDataset, toy_model
from ecgkit.train.devices import xla_loader_factory
dev = sys.argv[1]
cfg = RunConfig().override(['train.batch_size=64', 'train.epochs=2', 'train.lr=0.01', f'device.device={dev}'])
torch.manual_seed(0)
tr, va = make_loaders(ToyDataset(256, jitter=0.0), ToyDataset(64, split=1, jitter=0.0), cfg)
L = Learner(toy_model(dropout=0.0), (xla_loader_factory(tr) if dev == 'xla' else tr, va), nn.functional.cross_entropy,
            cfg, echo=False).fit()
print(json.dumps(dict(losses=L.losses, valid=[r['valid_loss'] for r in L.history], device=str(L.device))))
'''


@pytest.mark.skipif(no_xla, reason='needs torch_xla')
def test_learner_with_mpdeviceloader_factory_matches_cpu():
    "The Learner on device xla, fed by `xla_loader_factory` (MpDeviceLoader), gives the CPU Learner's losses."
    out = {}
    for dev in ('xla', 'cpu'):
        r = subprocess.run([sys.executable, '-c', LEARNER_XLA, dev], capture_output=True, text=True, env=ENV, timeout=240)
        assert r.returncode == 0, r.stderr[-3000:]
        out[dev] = json.loads(r.stdout.strip().splitlines()[-1])
    assert out['xla']['device'].startswith('xla')
    assert len(out['xla']['losses']) == len(out['cpu']['losses']) == 8
    assert max(abs(a - b) for a, b in zip(out['xla']['losses'], out['cpu']['losses'])) < 1e-5
    assert max(abs(a - b) for a, b in zip(out['xla']['valid'], out['cpu']['valid'])) < 1e-5
