"`ecgkit pipeline` (modes, --status, --stop-on-error, fresh confirmation), `runs summarize`, `evaluate-run`: subprocesses, smoke-sized stages."
import json, os, subprocess

from conftest import ecgkit_cmd


def test_pipeline_modes_status_summarize_evaluate(cli, tmp_path):
    root = tmp_path/'pipe'
    r = cli('pipeline', '--stages', '0', '1', '--mode', 'fresh', '--smoke', '--yes', '--root', root)
    assert r.returncode == 0, r.stderr
    assert 'markers: done' in r.stdout and 'stage1: done' in r.stdout
    prog = json.loads((root/'progress.json').read_text())
    assert prog['order'] == ['markers', 'stage1'] and prog['last_finished'] == 'stage1' and prog['mode'] == 'fresh'
    assert {n: s['status'] for n, s in prog['steps'].items()} == {'markers': 'done', 'stage1': 'done'}

    r = cli('pipeline', '--status', '--root', root)
    assert r.returncode == 0 and 'last finished step: stage1' in r.stdout
    lines = {l.split()[0]: l.split() for l in r.stdout.splitlines()[2:]}
    assert lines['markers'][1:3] == ['yes', 'yes'] and lines['trace'][1] == 'no'

    # skip: only stage 2 (no final model) trains
    r = cli('pipeline', '--stages', 'all', '--mode', 'skip', '--smoke', '--root', root)
    assert r.returncode == 0, r.stderr
    assert 'markers: skipped' in r.stdout and 'stage1: skipped' in r.stdout and 'trace: done' in r.stdout

    # resume: a stage without final.pt continues from latest.pt; finished ones would be skipped, but a larger
    # train.epochs continues them too (issue 18: it used to say "skipped" and ignore the new setting)
    (root/'stage1'/'checkpoints'/'final.pt').unlink()
    prog = json.loads((root/'progress.json').read_text()); prog['steps']['stage1']['status'] = 'running'
    (root/'progress.json').write_text(json.dumps(prog))
    r = cli('pipeline', '--stages', 'all', '--mode', 'resume', '--smoke', '--root', root, '--set', 'train.epochs=2')
    assert r.returncode == 0, r.stderr
    prog = json.loads((root/'progress.json').read_text())
    assert prog['steps']['stage1']['resumed_from'].endswith('latest.pt') and prog['steps']['stage1']['epochs'] == 2
    assert 'skipped' not in r.stdout and 'markers: train.epochs 1 -> 2: the run continues to epoch 2' in r.stdout
    assert [prog['steps'][n]['epochs'] for n in ('markers', 'trace')] == [2, 2]

    # fresh over existing runs, no --yes, no terminal: one line, exit 2, nothing deleted
    r = subprocess.run(ecgkit_cmd() + ['pipeline', '--stages', '0', '--mode', 'fresh', '--smoke', '--root', str(root)],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
                       env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and '--yes' in r.stderr and not r.stdout
    assert (root/'markers'/'checkpoints'/'final.pt').is_file()

    r = cli('runs', 'summarize', root)
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.strip().splitlines()
    assert head.split()[:4] == ['run', 'stage', 'epochs', 'best'] and len(rows) == 3
    assert 'orient_acc=' in rows[0] and 'dice=' in rows[1]

    r = cli('evaluate-run', root/'markers'/'checkpoints'/'final.pt', '--split', 'val')
    assert r.returncode == 0, r.stderr
    assert 'markers' in r.stdout and 'valid_loss:' in r.stdout and 'orient_acc:' in r.stdout
    r = cli('evaluate-run', root/'stage1'/'checkpoints'/'best.pt', '--json')
    d = json.loads(r.stdout)
    assert d['stage'] == 'stage1' and d['split'] == 'val' and 0 <= d['dice'] <= 1


def test_pipeline_stop_on_error_and_user_errors(cli, tmp_path):
    root = tmp_path/'pipe'
    # a config every stage rejects: without --stop-on-error both are tried, with it only the first
    r = cli('pipeline', '--stages', '0', '1', '--mode', 'fresh', '--smoke', '--root', root, '--set', 'train.batch_size=0')
    assert r.returncode == 1 and 'markers: FAILED' in r.stdout and 'stage1: FAILED' in r.stdout
    r = cli('pipeline', '--stages', '0', '1', '--mode', 'fresh', '--yes', '--smoke', '--root', root, '--set',
            'train.batch_size=0', '--stop-on-error')
    assert r.returncode == 1 and 'stage1: FAILED' not in r.stdout and 'stopped at markers' in r.stdout
    prog = json.loads((root/'progress.json').read_text())
    assert prog['steps']['markers']['status'] == 'failed' and prog['steps']['stage1']['status'] == 'not run'
    assert 'train.batch_size must be >= 1' in prog['steps']['markers']['error'] and prog['stopped'] == 'markers'

    for args, msg in [(('pipeline', '--stages', '9'), 'unknown stage'), (('pipeline',), '--status'),
                      (('runs', 'summarize', tmp_path/'none'), 'not a folder'),
                      (('evaluate-run', tmp_path/'x.pt'), 'not found')]:
        r = cli(*args, '--root', root) if args[0] == 'pipeline' else cli(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, (args, r.stderr)
