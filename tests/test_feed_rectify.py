"""`PageFeed(view='fn')` with the classic rectifier (`ecgkit.digitize.page.rectify`), the way the stages package injects
it (`synth` may not import `digitize`): the view is the rectifier's page, and with `to_view` (its homography) the
traces follow the ink the rectifier moved, also where it misregisters a photo."""
import numpy as np

from ecgkit.digitize.page import rectify, warp_points
from ecgkit.synth.augment import AugConfig, ink_fraction
from ecgkit.synth.dataset import PageFeed, view_labels, view_warp
from ecgkit.synth.signals import generated_records


def _rectify_view(img):
    page, info = rectify(img)
    return page, lambda xy: warp_points(info, xy)


def test_rectified_view_labels_follow_the_ink():
    feed = PageFeed(generated_records(4), types=('0001', '0003', '0005'), length=6, seed=2, scale=(0.6, 1.6),
                    view='fn', view_fn=_rectify_view, aug_cfg=AugConfig(rot90_prob=0, flip_prob=0))
    for i in (1, 2):                                          # a 0003 scan, a 0005 photo
        x = feed.sample(i)
        assert x['view'].shape[:2] == tuple(x['labels'].paper['page_size']) == x['view_labels'].size
        f, n = ink_fraction(x['view'], x['view_labels'])
        assert n > 5000 and f >= 0.95, (x['type'], f, n)
        ideal = view_labels(x['labels'], view_warp(x['labels']))  # where a perfect rectifier would put the traces
        if x['type'] == '0005':
            assert ink_fraction(x['view'], ideal)[0] < f        # this photo's rectified page is misregistered a little
    assert feed.sample(2)['type'] == '0005'
