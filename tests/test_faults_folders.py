"""Issue 18, findings 3 and 4: `testview` and `synth` never change, replace or mix what is already there.

- testview copies images (never hard links: editing a view image must leave the train image as it was), refuses an
  --out that is not a view it made, re-makes its own view, and replaces another view only with --overwrite;
- synth records its set's recipe in --out and refuses another source (two sources give the same ids), resumes the
  same command, and after kill -9 of a two-worker run the re-run gives the files an uninterrupted run gives."""
import hashlib, os, shutil, signal, subprocess, time

import pytest

from conftest import ecgkit_cmd

SAMPLE_IDS = ['1479396917', '3049328193', '3192557192']


def md5s(d):
    "{relative path: md5} of every file under `d`."
    return {str(p.relative_to(d)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(d.rglob('*')) if p.is_file()}


def one_line_error(r, *facts):
    assert r.returncode == 2 and 'Traceback' not in r.stderr, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and all(str(f) in lines[0] for f in facts), lines
    return lines[0]


@pytest.fixture
def train(sample, tmp_path):
    "A copy of the bundled sample (the tests edit view images: on a hard-linking testview that would edit the source)."
    return shutil.copytree(sample, tmp_path/'train-copy')


# ---------------------------------------------------------------------------------------------------- testview

def test_testview_copies_images(cli, train, tmp_path):
    before = md5s(train)
    out = tmp_path/'view'
    assert cli('testview', train, '--out', out).returncode == 0
    views = sorted((out/'test').glob('*.png'))
    assert [p.stem for p in views] == SAMPLE_IDS
    for p in views:
        src = train/'train'/p.stem/f'{p.stem}-0001.png'
        assert p.read_bytes() == src.read_bytes() and os.stat(p).st_nlink == 1 and not os.path.samefile(p, src)
        with open(p, 'r+b') as f: f.seek(100); f.write(b'edited in place')        # as an image editor saving over it would
    assert md5s(train) == before                                                    # the train images are unchanged


def test_testview_refuses_a_folder_it_did_not_make(cli, train, tmp_path):
    out = tmp_path/'mine'; out.mkdir(); (out/'test.csv').write_text('my own work\n')
    r = cli('testview', train, '--out', out)
    one_line_error(r, out, 'not a test view made by ecgkit testview')
    assert md5s(out) == {'test.csv': hashlib.md5(b'my own work\n').hexdigest()}    # nothing written, nothing replaced
    one_line_error(cli('testview', train, '--out', out, '--overwrite'), 'not a test view made by ecgkit testview')
    (out/'test.csv').unlink()
    assert cli('testview', train, '--out', out).returncode == 0                     # an empty folder is fine


def test_testview_own_view_again_another_only_when_asked(cli, train, tmp_path):
    out = tmp_path/'view'
    assert cli('testview', train, '--out', out).returncode == 0
    first = md5s(out)
    r = cli('testview', train, '--out', out)                                        # its own view: re-made, same files
    assert r.returncode == 0 and md5s(out) == first, r.stderr
    one_line_error(cli('testview', train, '--out', out, '--type', '0003'), out, 'holds another test view', 'type 0001',
                   '--overwrite')
    assert md5s(out) == first                                                       # refused before anything was written
    r = cli('testview', train, '--out', out, '--type', '0003', '--overwrite')
    assert r.returncode == 0, r.stderr
    assert sorted(p.stem for p in (out/'test').glob('*.png')) == ['1479396917', '3049328193']   # the 0003 view, alone


# ---------------------------------------------------------------------------------------------------- synth

def test_synth_refuses_another_source(cli, sample, tmp_path):
    "The issue's case: a run of one source into a folder of another found 'its' ids there and kept the other's images."
    out = tmp_path/'set'
    assert cli('synth', '--generated', 2, '--dpi', 50, '--out', out).returncode == 0
    before = md5s(out)
    line = one_line_error(cli('synth', '--competition-train', sample, '--dpi', 50, '--out', out), out,
                          'holds images synthesized from generated records (seed 0)',
                          f"this run's source is competition records in {sample.resolve()} (seed 0)")
    assert 'give another --out' in line
    one_line_error(cli('synth', '--generated', 2, '--seed', 1, '--dpi', 50, '--out', out), '(seed 0)', '(seed 1)')
    one_line_error(cli('synth', '--generated', 2, '--dpi', 100, '--out', out), 'drawing.paper.dpi=50')
    assert md5s(out) == before                                                      # nothing mixed in
    r = cli('synth', '--generated', 2, '--dpi', 50, '--out', out)                   # the same command resumes
    assert r.returncode == 0 and '0 image(s) written, 2 already there' in r.stdout, r.stderr
    assert md5s(out) == before


def test_synth_refuses_a_folder_it_did_not_make(cli, sample, tmp_path):
    "A competition folder given as --out would get synthesized records mixed into its train.csv."
    out = shutil.copytree(sample, tmp_path/'competition')
    before = md5s(out)
    one_line_error(cli('synth', '--generated', 1, '--dpi', 50, '--out', out), out, 'not made by ecgkit synth')
    assert md5s(out) == before


def test_synth_kill9_with_two_workers_then_rerun_equals_an_uninterrupted_run(tmp_path):
    n = 6
    cmd = lambda out: [str(c) for c in ecgkit_cmd() + ['synth', '--generated', n, '--seed', 7, '--dpi', 100, '--workers', 2, '--out', out]]
    ref, out = tmp_path/'uninterrupted', tmp_path/'killed'
    r = subprocess.run(cmd(ref), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    want = md5s(ref)
    assert len([f for f in want if f.endswith('.png')]) == n and '.ecgkit-synth.json' in want

    p = subprocess.Popen(cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and len(list(out.rglob('*.labels.npz'))) < 2: time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL); p.wait()                                      # the command and both its workers
    got = md5s(out)
    done = [f for f in got if f.endswith('.labels.npz')]                            # an image is done with its labels
    assert 0 < len(done) < n, f"the kill came too late to be mid-run: {len(done)} of {n} images"
    assert 'train.csv' not in got                                                   # written once, at the end
    for f, h in got.items():                                                        # no half file under a final name
        name = f.rsplit('/', 1)[-1]
        if name.startswith('.') and name.endswith('.tmp'): continue                 # temp files: swept by the re-run
        assert want.get(f) == h, f"{f} after the kill differs from the uninterrupted run's"

    r = subprocess.run(cmd(out), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{n - len(done)} image(s) written, {len(done)} already there" in r.stdout, r.stdout
    assert md5s(out) == want                                                        # every file, the recipe included
