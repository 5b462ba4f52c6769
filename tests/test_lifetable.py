"""Life tables: the Destatis 2022/24 table reproduced from its q(x); identities and invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wandel.demography.lifetable import (
    A0_DESTATIS,
    Lx_from_lx_ax,
    Tx_from_Lx,
    dx_from_lx,
    ex_from_Tx_lx,
    life_table_from_qx,
    lx_from_qx,
    qx_from_mx_ax,
    survival_ratios,
)

FILE = "statistik/12621-0001_full_Sterbetafel2022-2024.csv"
# column offsets of q, l, d, L, T, e for each sex (value/flag pairs after the age label)
OFFSETS = {"m": 1, "f": 15}


def _read_destatis(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """The 2022/24 table by sex: q, l, d, L, T, e for ages 0..100 (a few lines of plain parsing)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    rows = [ln.split(";") for ln in lines if ln[:1].isdigit() and " Jahr" in ln.split(";")[0]]
    assert len(rows) == 101
    assert rows[0][0] == "0 Jahre"
    assert rows[-1][0] == "100 Jahre"

    def col(i: int) -> np.ndarray:
        return np.array([float(r[i].replace(",", ".")) for r in rows])

    return {
        sex: {
            "q": col(o),
            "l": col(o + 4),
            "d": col(o + 6),
            "L": col(o + 8),
            "T": col(o + 10),
            "e": col(o + 12),
        }
        for sex, o in OFFSETS.items()
    }


@pytest.fixture(scope="module")
def destatis(shared_data: Path) -> dict[str, dict[str, np.ndarray]]:
    return _read_destatis(shared_data / FILE)


@pytest.mark.parametrize(("sex", "e0", "e65"), [("m", 78.47, 17.71), ("f", 83.19, 20.91)])
def test_destatis_2022_24_e0_and_e65(
    destatis: dict[str, dict[str, np.ndarray]], sex: str, e0: float, e65: float
) -> None:
    t = destatis[sex]
    # published figures in the file itself, as a guard on the parsing
    assert t["e"][0] == e0
    assert t["e"][65] == pytest.approx(e65, abs=0.005)
    # a0 and the open group as the table has them: a0 = (L0 - l1) / d0, m(100+) = l(100) / T(100)
    d0 = 100_000 * t["q"][0]
    a0 = (t["L"][0] - (100_000 - d0)) / d0
    lt = life_table_from_qx(t["q"], a0=a0, open_mx=t["l"][100] / t["T"][100])
    assert abs(float(lt.e0) - e0) < 0.01
    assert abs(float(lt.ex[65]) - e65) < 0.01
    # and with every default (a0 = A0_DESTATIS, open group from q(100) as constant hazard)
    assert abs(float(life_table_from_qx(t["q"]).e0) - e0) < 0.01
    # lx and Lx agree with the published (rounded to whole persons/years) columns
    np.testing.assert_allclose(lt.lx, t["l"], atol=0.51)
    np.testing.assert_allclose(lt.Lx[:100], t["L"][:100], atol=1.5)
    np.testing.assert_allclose(lt.ex[:100], t["e"][:100], atol=0.006)


def test_destatis_a0(destatis: dict[str, dict[str, np.ndarray]]) -> None:
    """a0 = (L0 - l1) / d0 from the published L(0): 0.1216 (m), 0.1348 (f); default is their mean."""
    a0 = {}
    for sex, t in destatis.items():
        q0 = t["q"][0]
        l1 = 100_000 * (1 - q0)
        a0[sex] = (t["L"][0] - l1) / (100_000 * q0)
    assert a0["m"] == pytest.approx(0.1216, abs=0.002)
    assert a0["f"] == pytest.approx(0.1348, abs=0.002)
    assert pytest.approx((a0["m"] + a0["f"]) / 2, abs=0.002) == A0_DESTATIS


def test_identities_on_a_tiny_table() -> None:
    # q = (0.5, 0.5, open); l = 100, 50, 25; d = 50, 25, 25; L = 75, 37.5, 25/m with m = 0.5 -> 50
    lx = lx_from_qx([0.5, 0.5, 1.0], radix=100)
    assert lx.tolist() == [100.0, 50.0, 25.0]
    assert dx_from_lx(lx).tolist() == [50.0, 25.0, 25.0]
    L = Lx_from_lx_ax(lx, 0.5, 0.5)
    assert L.tolist() == [75.0, 37.5, 50.0]
    T = Tx_from_Lx(L)
    assert T.tolist() == [162.5, 87.5, 50.0]
    assert ex_from_Tx_lx(T, lx).tolist() == [1.625, 1.75, 2.0]


def test_survival_ratios_formula(destatis: dict[str, dict[str, np.ndarray]]) -> None:
    t = destatis["f"]
    lt = life_table_from_qx(t["q"], open_mx=t["l"][100] / t["T"][100])
    s = survival_ratios(lt)
    assert s.sx.shape == (101,)
    assert s.sx[30] == pytest.approx(lt.Lx[31] / lt.Lx[30], rel=1e-15)
    assert s.sx[99] == s.sx[100] == pytest.approx(t["T"][100] / t["T"][99], rel=2e-3)
    # default a0 (0.128) instead of the female 0.1348: L0 differs by d0 * 0.007, about 2 persons
    assert float(s.birth) == pytest.approx(t["L"][0] / 100_000, abs=3e-5)
    assert np.all((s.sx > 0) & (s.sx < 1))


def test_vectorised_over_tables(destatis: dict[str, dict[str, np.ndarray]]) -> None:
    q = np.stack([destatis["m"]["q"], destatis["f"]["q"]])
    lt = life_table_from_qx(q)
    assert lt.e0.shape == (2,)
    for i, sex in enumerate(["m", "f"]):
        single = life_table_from_qx(destatis[sex]["q"])
        np.testing.assert_array_equal(lt.ex[i], single.ex)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="101 ages"):
        life_table_from_qx(np.full(50, 0.1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        life_table_from_qx(np.full(101, 1.5))
    q = np.full(101, 0.1)
    q[-1] = 1.0
    with pytest.raises(ValueError, match="open_mx"):
        life_table_from_qx(q)


@settings(max_examples=60, deadline=None)
@given(
    q=arrays(np.float64, 101, elements=st.floats(0.0, 0.9)),
    a=st.floats(0.05, 0.95),
)
def test_invariants(q: np.ndarray, a: float) -> None:
    q = q.copy()
    q[-1] = max(q[-1], 0.01)
    lt = life_table_from_qx(q, ax=a)
    assert np.all(np.diff(lt.lx) <= 0)
    assert np.all((lt.qx >= 0) & (lt.qx <= 1))
    assert lt.dx.sum() == pytest.approx(lt.radix, rel=1e-12)
    assert np.all(lt.Lx[:-1] <= lt.lx[:-1] + 1e-9)
    assert np.all(lt.Lx >= 0)
    np.testing.assert_allclose(lt.Tx[0], lt.Lx.sum(), rtol=1e-12)
    # q <-> m round trip for the closed ages
    m, q_closed, a_closed = lt.mx[:-1], lt.qx[:-1], lt.ax[:-1]
    np.testing.assert_allclose(qx_from_mx_ax(m, a_closed), q_closed, rtol=1e-12, atol=1e-300)
    alive = lt.Lx[:-1] > 1e-6 * lt.radix
    np.testing.assert_allclose(m[alive], (lt.dx[:-1] / lt.Lx[:-1])[alive], rtol=1e-6, atol=1e-9)
    s = survival_ratios(lt)
    assert np.all((s.sx >= 0) & (s.sx <= 1 + 1e-12))
