"Shared fixtures: the devset (skipped with a reason when absent), the bundled sample, the console script."
import os, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT.parent/'shared'/'data'/'devset'
SAMPLE = ROOT/'data'/'sample'


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='also run tests marked slow')


def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'): return
    skip = pytest.mark.skip(reason='slow: run with --runslow (make test-slow)')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)


@pytest.fixture(scope='session')
def devset():
    "Path of ../shared/data/devset; the test is skipped (with the reason) when it is not there."
    if not (DEVSET/'train.csv').is_file(): pytest.skip(f'devset not present at {DEVSET}')
    return DEVSET


@pytest.fixture(scope='session')
def sample():
    "The three records bundled in data/sample."
    assert (SAMPLE/'train.csv').is_file(), 'data/sample is part of the repo'
    return SAMPLE


def ecgkit_cmd():
    "The installed console script next to this Python, else `python -m ecgkit.cli`."
    exe = Path(sys.executable).parent/'ecgkit'
    return [str(exe)] if exe.exists() else [sys.executable, '-m', 'ecgkit.cli']


def run_cli(*args, cwd=None, timeout=300, env=None):
    "Run `ecgkit ARGS...` in a subprocess (`env`: variables set on top of ours); returns CompletedProcess with text stdout/stderr."
    return subprocess.run(ecgkit_cmd() + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, 'PYTHONWARNINGS': 'ignore', **(env or {})})


@pytest.fixture
def cli():
    "`run_cli` as a fixture."
    return run_cli
