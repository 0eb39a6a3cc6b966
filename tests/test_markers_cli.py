"""The learned stage 0 from the command line, with the shipped weights (`ecgkit/weights/markers`): a page given
mirrored and turned is read exactly as the upright page, by `--stage0 learned` and by the default `--method auto`
where the classic stage 0 cannot undo it (a mirror); one-line errors for what stage 0 cannot do."""
import cv2
import numpy as np
import pandas as pd
import pytest

from ecgkit.digitize.image import dihedral, load_image
from ecgkit.digitize.learned import weights_dir
from ecgkit.submission import make_test_view, read_submission

CLEAN = ['3049328193']


@pytest.fixture(scope='module')
def views(sample, tmp_path_factory):
    "(upright view, the same page mirrored and turned 90° (orientation 5)), one image each."
    if weights_dir('markers') is None: pytest.fail('ecgkit/weights/markers is part of the package')
    d = tmp_path_factory.mktemp('mk')
    up = make_test_view(sample, d/'up', '0001', ids=CLEAN, show_progress=False)
    turned = make_test_view(sample, d/'turned', '0001', ids=CLEAN, show_progress=False)
    png = turned.test_dir/f'{CLEAN[0]}.png'
    cv2.imwrite(str(png), cv2.cvtColor(dihedral(load_image(png), 5), cv2.COLOR_RGB2BGR))
    return up, turned


def _read(cli, view, out, *extra):
    r = cli('digitize', view.root, '--out', out, *extra)
    assert r.returncode == 0, r.stderr
    return read_submission(out), r


def test_learned_stage0_reads_a_mirrored_turned_page_as_the_upright_one(cli, views, tmp_path):
    up, turned = views
    ref, _ = _read(cli, up, tmp_path/'up.csv', '--method', 'classic')
    learned, _ = _read(cli, turned, tmp_path/'learned.csv', '--method', 'classic', '--stage0', 'learned')
    pd.testing.assert_frame_equal(learned, ref)                         # the exact upright image: the same read
    classic, _ = _read(cli, turned, tmp_path/'classic.csv', '--method', 'classic')
    assert not classic['value'].equals(ref['value'])                    # the classic stage 0 leaves the mirror in place


def test_stage1_learned_is_refused_in_one_line(cli, views, tmp_path):
    up, _ = views
    r = cli('digitize', up.root, '--out', tmp_path/'s.csv', '--stage1', 'learned')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'no learned model yet' in r.stderr, r.stderr
    assert not (tmp_path/'s.csv').exists()
