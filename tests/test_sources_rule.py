"""The sources rule of issue 14 on the devset: no odd row (0-based, `train.csv` order, as `bench_digitize.py --half`)
of the devset can ever be drawn from a training source, and the even half is all there. Enumerates every record."""
import pandas as pd
import pytest

from ecgkit.core import UserError
from ecgkit.synth.signals import competition_records, generated_records, mixed_records, training_records, wfdb_records


def _halves(devset):
    ids = pd.read_csv(devset/'train.csv', dtype={'id': str})['id'].tolist()
    return set(ids[0::2]), set(ids[1::2])


@pytest.mark.parametrize('make', [
    lambda d: competition_records(d, half='even'),
    lambda d: training_records(d),
    lambda d: training_records(d, generated=40, real=0.25, seed=3),
    lambda d: mixed_records([generated_records(5), competition_records(d, half='even')], [0.9, 0.1]),
], ids=['even', 'training', 'training+generated', 'mixed'])
def test_no_odd_row_can_be_drawn(devset, make):
    even, odd = _halves(devset)
    assert len(even) >= 10 and len(odd) >= 10 and not even & odd
    src = make(devset)
    assert not set(src.names) & odd and even <= set(src.names)        # every record it can give, by name ...
    read = {r.id for r in src}                                        # ... and by reading each one
    assert not read & odd
    assert {i for i in read if not i.startswith('gen-')} == even


def test_odd_half_is_the_rest(devset):
    even, odd = _halves(devset)
    assert set(competition_records(devset, half='odd').names) == odd
    assert set(competition_records(devset).names) == even | odd


def test_wfdb_records_are_refused(devset):
    recs = devset.parent/'records'
    if not recs.is_dir(): pytest.skip(f'WFDB records not present at {recs}')
    with pytest.raises(UserError, match='not a training source'):
        mixed_records([wfdb_records(recs), competition_records(devset, half='even')])
