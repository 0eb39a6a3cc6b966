"""Issue 18, findings 5 and 6: a stopped multi-worker command (SIGTERM, Ctrl-C) leaves no worker behind within 5 s,
no partial output file, and says on one line that it was stopped; a `kill -9`ed `digitize` resumes from the images
it kept and writes the same bytes as an uninterrupted run; long work shows progress lines off a terminal."""
import os, signal, subprocess, sys, time
from pathlib import Path

import pytest

from ecgkit.submission import make_test_view

CLEAN = ['3049328193', '1479396917', '3192557192']          # the bundled records with a clean 0001 image
ENV = {**os.environ, 'PYTHONWARNINGS': 'ignore'}


def ecgkit(*args) -> list:
    return [sys.executable, '-m', 'ecgkit.cli', *map(str, args)]


def children(pid: int) -> list:
    "Pids of the live descendants of `pid`."
    try:
        import psutil
        try: return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess: return []
    except ImportError: pass
    kids = {}
    for d in Path('/proc').iterdir():
        if d.name.isdigit():
            try: kids.setdefault(int((d/'stat').read_text().rsplit(')', 1)[1].split()[1]), []).append(int(d.name))
            except (OSError, IndexError, ValueError): pass
    out, todo = [], [pid]
    while todo: todo += (k := kids.get(todo.pop(), [])); out += k
    return out


def alive(pid: int) -> bool:
    "Whether process `pid` runs (a zombie waiting to be reaped does not)."
    try: return (Path('/proc')/str(pid)/'stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError): return False


def wait_for(cond, timeout: float, every: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond(): return True
        time.sleep(every)
    return bool(cond())


@pytest.fixture
def reaper():
    "Pids registered here are SIGKILLed at the end of the test, so a failing run on an old build leaves no orphan."
    pids = []
    yield pids
    for p in pids:
        if alive(p):
            try: os.kill(p, signal.SIGKILL)
            except ProcessLookupError: pass


@pytest.fixture(scope='module')
def view(sample, tmp_path_factory):
    "A test view of the three clean bundled records (private copies of the images)."
    tv = make_test_view(sample, tmp_path_factory.mktemp('workers')/'view', '0001', ids=CLEAN, show_progress=False)
    for p in tv.test_dir.glob('*.png'):
        data = p.read_bytes(); p.unlink(); p.write_bytes(data)
    return tv


@pytest.fixture(scope='module')
def reference(view, tmp_path_factory):
    "An uninterrupted `ecgkit digitize --workers 2` of the view: (its submission's bytes, its stderr)."
    out = tmp_path_factory.mktemp('ref')/'sub.csv'
    r = subprocess.run(ecgkit('digitize', view.root, '--out', out, '--workers', 2), capture_output=True, text=True, timeout=300,
                       env={**ENV, 'ECGKIT_PROGRESS_AFTER_S': '0'})               # progress lines from the first image on
    assert r.returncode == 0, r.stderr
    return out.read_bytes(), r.stderr


def _interactive():
    "In the child: SIGINT as a terminal user has it (a shell starts background jobs, and so CI steps, with SIGINT ignored)."
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args, reaper, **kw) -> subprocess.Popen:
    "Start `ecgkit ARGS` and wait until its two workers run (and a little more: mid-job)."
    p = subprocess.Popen(ecgkit(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                         preexec_fn=_interactive, **kw)
    assert wait_for(lambda: len(children(p.pid)) >= 2 or p.poll() is not None, 60), 'the workers did not start'
    assert p.poll() is None, p.communicate()
    reaper.extend(children(p.pid) + [p.pid])
    time.sleep(1.0)
    return p


def assert_stopped(p, sig: int, workers: list, what: str, code: int):
    "After `sig`: the command ends within 5 s with `code` and one line saying it was stopped, and no worker outlives it."
    t0 = time.monotonic()
    try: out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        live = [w for w in workers if alive(w)]
        for pid in [p.pid] + live:
            try: os.kill(pid, signal.SIGKILL)
            except ProcessLookupError: pass
        p.communicate()
        pytest.fail(f"{what}: no end of output 15 s after {signal.Signals(sig).name} (a live worker holds its stderr), "
                    f"live workers: {live}")
    took = time.monotonic() - t0
    assert took < 5, f"{what} took {took:.1f} s to stop"
    assert wait_for(lambda: not any(alive(w) for w in workers), max(0.1, 5 - took)), \
        f"workers still alive 5 s after {signal.Signals(sig).name}: {[w for w in workers if alive(w)]}"
    assert p.returncode == code, (p.returncode, err)
    assert 'Traceback' not in err, err
    said = [l for l in err.splitlines() if 'stopped' in l or 'interrupted' in l]
    assert len(said) == 1 and said[0].startswith(f'ecgkit {what}: '), err
    return said[0]


def test_sigterm_stops_digitize_workers_and_writes_nothing(view, reaper, tmp_path):
    out = tmp_path/'sub.csv'
    p = start(['digitize', view.root, '--out', out, '--workers', 2], reaper)
    workers = children(p.pid)
    p.send_signal(signal.SIGTERM)
    line = assert_stopped(p, signal.SIGTERM, workers, 'digitize', 128 + signal.SIGTERM)
    assert line.startswith('ecgkit digitize: stopped by SIGTERM; '), line
    assert not out.exists()
    assert not [f for f in tmp_path.rglob('*') if f.name.endswith('.tmp')], sorted(tmp_path.rglob('*'))   # no half file


def test_sigterm_stops_synth_workers_and_leaves_no_temp_file(reaper, tmp_path):
    p = start(['synth', '--generated', 12, '--seed', 2, '--workers', 2, '--out', tmp_path], reaper)
    workers = children(p.pid)
    p.send_signal(signal.SIGTERM)
    line = assert_stopped(p, signal.SIGTERM, workers, 'synth', 128 + signal.SIGTERM)
    assert line.startswith('ecgkit synth: stopped by SIGTERM; ') and 'run the same command again' in line, line
    assert not [f for f in tmp_path.rglob('*') if f.name.endswith('.tmp')], sorted(tmp_path.rglob('*'))   # no half image
    assert not (tmp_path/'train.csv').exists()


def test_sigint_stops_evaluate_workers(sample, reaper, tmp_path):
    "SIGINT to the command alone (`kill -INT`, a notebook's 'interrupt kernel'): its workers are stopped, not waited for."
    p = start(['evaluate', sample, '--types', '0001', '--out', tmp_path/'ev', '--workers', 2], reaper)
    workers = children(p.pid)
    p.send_signal(signal.SIGINT)
    assert_stopped(p, signal.SIGINT, workers, 'evaluate', 130)
    assert not (tmp_path/'ev').exists() or not [f for f in (tmp_path/'ev').rglob('*') if f.is_file()]


def test_digitize_killed_resumes_to_the_same_bytes(view, reference, reaper, tmp_path):
    """kill -9 of `digitize --workers 2` mid-run: its workers follow it, the images done are kept in OUT.parts, and the
    re-run does only the rest and writes byte for byte the submission of an uninterrupted run."""
    out = tmp_path/'sub.csv'
    parts = Path(str(out) + '.parts')
    p = start(['digitize', view.root, '--out', out, '--workers', 2], reaper)
    workers = children(p.pid)
    assert wait_for(lambda: any(parts.glob('*.npz')) or p.poll() is not None, 120), 'no image kept in OUT.parts'
    p.kill(); p.communicate()
    kept = len(list(parts.glob('*.npz')))
    assert 1 <= kept < len(CLEAN) and not out.exists(), (kept, out.exists())
    assert wait_for(lambda: not any(alive(w) for w in workers), 5), f"orphaned workers: {[w for w in workers if alive(w)]}"
    r = subprocess.run(ecgkit('digitize', view.root, '--out', out, '--workers', 2), capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f'resuming: {kept} of {len(CLEAN)} images already done in {parts}' in r.stderr, r.stderr
    assert out.read_bytes() == reference[0]
    assert not parts.exists()                                  # removed once the submission is written


def test_progress_lines_off_a_terminal(reference):
    """stderr is a pipe here: the run logs progress lines (count, rate, ETA) instead of staying silent (from the first image
    on, as `ECGKIT_PROGRESS_AFTER_S=0` asks; by default after 5 s)."""
    lines = [l for l in reference[1].splitlines() if l.startswith('digitize: ')]
    n = len(CLEAN)
    assert [l.split(',')[0] for l in lines] == [f'digitize: {i}/{n} ({100 * i / n:.0f}%)' for i in range(1, n + 1)], reference[1]
    assert 'ETA' in lines[0] and (' it/s' in lines[-1] or ' s/it' in lines[-1]) and ', in ' in lines[-1], lines
