"""MVAD model: ONNX core vs the numpy reference, save/load, determinism, training errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


from batchinfer.models.mvad.core import run_core  # noqa: E402
from batchinfer.models.mvad.errors import MvadDataError  # noqa: E402
from batchinfer.models.mvad.export import read_core_params  # noqa: E402
from batchinfer.models.mvad.features import core_numpy, mean_taps, window_features  # noqa: E402
from batchinfer.models.mvad.model import TrainedModel  # noqa: E402
from batchinfer.models.mvad.synthetic import make_correlated_series  # noqa: E402
from batchinfer.models.mvad.train import train  # noqa: E402

W = 40


@pytest.fixture(scope="module")
def series():
    return make_correlated_series(1800, 12, seed=5)


@pytest.fixture(scope="module")
def trained(series, tmp_path_factory) -> TrainedModel:
    model = train(series.rows(0, 1200), W)
    model.save(tmp_path_factory.mktemp("mvad_model"))
    return model


def test_onnx_core_matches_numpy_reference(trained: TrainedModel, series) -> None:
    block = series.values[1000:1500]
    z_onnx = run_core(trained.session(), block, W)
    assert trained.core is not None
    z_ref = core_numpy(trained.core, block)
    assert z_onnx.shape == (500 - W + 1, 12)
    scale = max(1.0, float(np.abs(z_ref).max()))
    assert np.abs(z_onnx - z_ref).max() <= 1e-5 * scale


@pytest.mark.parametrize("w", [28, 29, 300, 2880])
def test_window_mean_taps_stay_inside_the_history(w: int) -> None:
    taps, dilation = mean_taps(w)
    assert 1 <= taps <= 32 and (taps - 1) * dilation + 1 <= w - 1
    xs = np.arange(w + 2, dtype=np.float64)[:, None]
    feats = window_features(xs, w)
    # cur, lag1, lag2 of the first window (ending at row w-1); the mean of earlier rows only.
    assert feats[0, :3].tolist() == [w - 1, w - 2, w - 3]
    assert feats[0, 3] < w - 1


def test_save_load_roundtrip(trained: TrainedModel, series, tmp_path: Path) -> None:
    assert trained.onnx_path is not None
    loaded = TrainedModel.load(trained.onnx_path.parent)
    assert loaded.variables == trained.variables
    assert loaded.sliding_window == W
    assert loaded.align_policy == trained.align_policy
    assert loaded.scoring == trained.scoring
    np.testing.assert_array_equal(
        loaded.interpretation.correlation, trained.interpretation.correlation
    )
    assert loaded.meta_json() == trained.meta_json()
    params = read_core_params(loaded.onnx_bytes or b"", W)
    assert trained.core is not None
    np.testing.assert_array_equal(params.weight, trained.core.weight)
    block = series.values[1200:1400]
    np.testing.assert_array_equal(
        run_core(loaded.session(), block, W), run_core(trained.session(), block, W)
    )
    meta = json.loads((trained.onnx_path.parent / "meta.json").read_text())
    assert meta["formatVersion"] == 1 and meta["slidingWindow"] == W
    assert {"scoring", "interpretation", "alignPolicy", "diagnostics", "core"} <= meta.keys()


def test_training_is_deterministic(series, trained: TrainedModel, tmp_path: Path) -> None:
    again = train(series.rows(0, 1200), W)
    again.save(tmp_path)
    assert trained.onnx_path is not None
    for name in ("model.onnx", "meta.json"):
        assert (tmp_path / name).read_bytes() == (trained.onnx_path.parent / name).read_bytes()


def test_load_refuses_a_tampered_graph(trained: TrainedModel, tmp_path: Path) -> None:
    assert trained.onnx_bytes is not None
    replace(trained).save(tmp_path)  # a copy: saving sets onnx_path on the saved object
    (tmp_path / "model.onnx").write_bytes(trained.onnx_bytes + b"\0")
    with pytest.raises(ValueError, match="hash"):
        TrainedModel.load(tmp_path)


def test_training_errors(series) -> None:
    with pytest.raises(MvadDataError) as info:
        train(series.rows(0, 200), W)
    assert info.value.code == "NotEnoughData"
    with pytest.raises(MvadDataError) as info:
        train(series, 27)
    assert info.value.code == "InvalidSlidingWindow"


def test_constant_variable_is_tolerated(series) -> None:
    values = series.values[:800].copy()
    values[:, 3] = 42.0
    from batchinfer.models.mvad.series import MultivariateSeries

    model = train(MultivariateSeries(series.timestamps[:800], series.variables, values), 30)
    assert model.diagnostics["constantVariables"] == ["series_3"]
    assert model.core is not None and np.isfinite(model.core.weight).all()


@pytest.mark.parametrize(("n_vars", "w"), [(1, 28), (5, 28), (64, 100)])
def test_core_rows_do_not_depend_on_the_block(tmp_path: Path, n_vars: int, w: int) -> None:
    """Every output row must be bitwise identical whatever block it was computed in (a
    single-row product takes another GEMM kernel in ONNX Runtime; run_core avoids it)."""
    from batchinfer.models.mvad.core import _session
    from batchinfer.models.mvad.export import build_onnx
    from batchinfer.models.mvad.features import CoreParams

    rng = np.random.default_rng(n_vars)
    params = CoreParams(
        w,
        rng.normal(size=n_vars).astype(np.float32),
        (rng.random(n_vars) + 0.5).astype(np.float32),
        (rng.normal(size=(4 * n_vars, n_vars)) * 0.1).astype(np.float32),
        rng.normal(size=n_vars).astype(np.float32),
    )
    (tmp_path / "core.onnx").write_bytes(build_onnx(params))
    session = _session(tmp_path / "core.onnx")
    x = rng.normal(size=(w + 150, n_vars)).astype(np.float32)
    full = run_core(session, x, w)
    for size in (1, 2, 3, 17, 64):
        for lo in range(0, full.shape[0], size):
            hi = min(full.shape[0], lo + size)
            np.testing.assert_array_equal(run_core(session, x[lo : hi + w - 1], w), full[lo:hi])


def test_training_reports_each_ridge_candidate(series, trained: TrainedModel) -> None:
    """Train loss (fit windows, computed in closed form) equals the residuals' mean square
    measured directly; validation loss is the held-out one; every candidate was timed."""
    from batchinfer.models.mvad.features import standardize
    from batchinfer.models.mvad.train import TrainConfig, _moments, _residual_maps, _residuals

    diagnostics = trained.diagnostics
    grid = [repr(x) for x in TrainConfig().ridge_grid]
    assert list(diagnostics["ridgeGridTrainMse"]) == grid
    assert list(diagnostics["ridgeGridHeldOutMse"]) == grid
    assert trained.training_seconds is not None and len(trained.training_seconds) == len(grid)
    assert all(s > 0 for s in trained.training_seconds)
    data = series.rows(0, 1200).values.astype(np.float64)
    xs = standardize(
        series.rows(0, 1200).values,
        data.mean(axis=0).astype(np.float32),
        data.std(axis=0).astype(np.float32),
    )
    n_fit = diagnostics["fitWindows"]
    mu, cov = _moments(xs, W, 0, n_fit)
    for key, lam in zip(grid, TrainConfig().ridge_grid):
        maps, closed_form = _residual_maps(cov, 12, lam)
        (fit_residuals,), _, _ = _residuals(xs, W, 0, n_fit, mu, [maps])
        assert closed_form == pytest.approx(float(np.mean(fit_residuals**2)), rel=1e-6)
        assert diagnostics["ridgeGridTrainMse"][key] == round(closed_form, 8)
        # fitted on other windows than it is validated on: the losses differ
        assert diagnostics["ridgeGridTrainMse"][key] != diagnostics["ridgeGridHeldOutMse"][key]
