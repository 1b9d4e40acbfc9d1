"""The speed table in fast mode, numbacnn and NumPy only (no torch)."""

from speed_table import speed_table


def test_speed_table_loops_are_slower_than_compiled():
    r = speed_table(fast=True, epoch_images=64)
    ops = [row["operation"] for row in r.table]
    assert ops[:3] == ["conv 1->32 3x3", "conv 32->64 3x3", "max pool 2x2"]
    for row in r.table[:3]:
        # Python loops over every output pixel cannot beat compiled loops
        assert row["loops / numbacnn"] > 1.0
        # forward and forward+backward are timed separately, milliseconds apart: on a busy
        # machine their order is noise, so only their presence is checked here
        assert row["numbacnn fwd (ms)"] > 0 and row["numbacnn fwd+bwd (ms)"] > 0
    assert r["small CNN epoch numbacnn (s)"] > 0
