"`ecgkit train`: one stage into a run folder, and `--resume` from its latest.pt."
import pandas as pd


def test_train_then_resume_extends_the_run(cli, tmp_path):
    run = tmp_path/'s0'
    r = cli('train', '--stage', 0, '--smoke', '--run-dir', run)
    assert r.returncode == 0, r.stderr
    assert (run/'checkpoints'/'final.pt').is_file() and (run/'curves.png').is_file()
    assert len(pd.read_csv(run/'metrics.csv')) == 1
    r = cli('train', '--stage', 0, '--smoke', '--run-dir', run, '--resume', '--set', 'train.epochs=2')
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(run/'metrics.csv')['epoch'].tolist() == [0, 1]        # continued, not restarted


def test_resume_without_a_run_is_a_user_error(cli, tmp_path):
    r = cli('train', '--stage', 0, '--run-dir', tmp_path/'none', '--resume')
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert r.stderr.strip().splitlines() == [f"ecgkit train: error: nothing to resume: {tmp_path/'none'/'checkpoints'/'latest.pt'} does not exist"]


def test_unknown_stage_is_a_user_error(cli, tmp_path):
    r = cli('train', '--stage', 9, '--run-dir', tmp_path/'x')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr
