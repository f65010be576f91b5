"""Column statistics of the input scaling (skae._scaling)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skae._scaling import ColumnStatistics, scaling_statistics


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(50, 4)) * [1, 10, 100, 0] + [0, 5, -3, 7]


@pytest.mark.parametrize("kind", ["standard", "center", "minmax", None])
def test_merged_parts_give_the_scaling_of_the_whole(X, kind):
    parts = [ColumnStatistics.of(part) for part in (X[:7], X[7:30], X[30:])]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    whole = ColumnStatistics.of(X)
    np.testing.assert_array_equal(merged.count, whole.count)
    for got, expected in zip(merged.scaling(kind), whole.scaling(kind)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_missing_entries_are_left_out_and_counted(X):
    X = X.copy()
    X[[1, 4, 9], 0] = np.nan
    statistics = ColumnStatistics.of(X)
    assert statistics.count.tolist() == [47, 50, 50, 50]
    assert statistics.mean[0] == pytest.approx(np.nanmean(X[:, 0]))
    sparse = ColumnStatistics.of(sp.csr_matrix(X))
    assert sparse.count.tolist() == statistics.count.tolist()
    np.testing.assert_allclose(sparse.mean, statistics.mean)


def test_constant_columns_pass_through_unscaled(X):
    offset, scale = scaling_statistics(X, "standard")
    assert scale[3] == 1.0 and offset[3] == 7.0
    offset, scale = scaling_statistics(X, "minmax")
    assert scale[3] == 1.0
    assert np.allclose((X - offset) / scale, np.clip((X - offset) / scale, 0, 1))
