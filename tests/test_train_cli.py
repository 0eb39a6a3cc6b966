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


def test_config_file_and_print_config(cli, tmp_path):
    "--print-config shows the shipped config with --set on top; --config FILE (here an earlier run's config.yaml) is the start."
    r = cli('train', '--stage', 0, '--print-config', '--set', 'train.lr=0.02')
    assert r.returncode == 0, r.stderr
    assert 'epochs: 20' in r.stdout and 'early_stop_metric: orient_acc' in r.stdout and 'lr: 0.02' in r.stdout
    mine = tmp_path/'mine.yaml'
    mine.write_text('train:\n  epochs: 2\n  batch_size: 8\n  lr: 0.007\n')
    r = cli('train', '--stage', 0, '--config', mine, '--print-config', '--set', 'train.epochs=3')
    assert r.returncode == 0 and 'epochs: 3' in r.stdout and 'batch_size: 8' in r.stdout and 'early_stop_metric: valid_loss' in r.stdout
    run = tmp_path/'s0'
    r = cli('train', '--stage', 0, '--smoke', '--run-dir', run, '--config', mine, '--set', 'train.epochs=1')
    assert r.returncode == 0, r.stderr
    assert 'lr: 0.007' in (run/'config.yaml').read_text()          # the file's, not the shipped 0.003
    r = cli('train', '--stage', 0, '--config', tmp_path/'no.yaml', '--print-config')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'config not found' in r.stderr
