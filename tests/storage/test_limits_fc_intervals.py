"""FC limits read from critical values: the allowed set is every θ with t(θ) ≤ t_c(θ)
(Feldman & Cousins 1998 Sec. IV.B: the interval is the set of all θ whose acceptance region
holds the data), so the limit is the largest allowed θ and islands stay separate intervals."""

import numpy as np
import xarray as xr

from nubound.storage.contours import allowed_intervals_1d
from nubound.storage.limits import calibrated_delta_chi2

G = np.linspace(0.0, 10.0, 11)
# Δχ² along a coupling line: allowed near 0, a barrier (4.0) at g = 4, an island (1.5) at g = 6
DCHI2 = np.array([0.0, 0.3, 1.2, 2.5, 4.0, 3.5, 1.5, 3.0, 6.0, 9.0, 12.0])
LEVEL = 2.705543454


def _intervals(critical):
    d = xr.DataArray(DCHI2, dims="g", coords={"g": G})
    c = xr.DataArray(np.asarray(critical, dtype=float), dims="g", coords={"g": G})
    scaled = calibrated_delta_chi2(d, LEVEL, c)
    return [(iv.lower, iv.upper) for iv in allowed_intervals_1d(G, scaled.values, LEVEL)]


def test_island_kept_where_t_below_its_critical_value():
    ivs = _intervals(np.full(G.size, LEVEL))
    assert len(ivs) == 2 and 5.0 < ivs[1][0] < 6.0 < ivs[1][1] < 7.0
    assert ivs[1][1] == max(u for _, u in ivs)  # the limit: the largest allowed θ


def test_island_removed_where_its_critical_value_is_lower():
    critical = np.full(G.size, LEVEL)
    critical[6] = 1.0  # t = 1.5 > t_c at the island: its acceptance region excludes the data
    ivs = _intervals(critical)
    assert len(ivs) == 1 and ivs[0][1] < 4.0


def test_barrier_allowed_where_its_critical_value_is_higher():
    critical = np.full(G.size, LEVEL)
    critical[3:8] = 4.5  # every θ up to the island accepts the data: one interval
    (iv,) = _intervals(critical)
    assert iv[0] == 0.0 and 7.0 < iv[1] < 8.0
    # NaN critical values keep Wilks' threshold
    assert _intervals(np.full(G.size, np.nan)) == _intervals(np.full(G.size, LEVEL))
