"""Categorical columns in the three estimators (skae._categorical)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

import skae
from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skae._base import fitted_state
from skae._categorical import CategoricalReconstructionLoss, fitted_encoding
from skae._testing import CPU

FAST = {"max_steps": 30, "batch_size": 32, **CPU}
ESTIMATORS = {
    "transformer": lambda **kw: AutoencoderTransformer(n_components=2, **FAST, **kw),
    "vae": lambda **kw: VAETransformer(n_components=2, **FAST, **kw),
    "detector": lambda **kw: AutoencoderOutlierDetector(n_estimators=2, **FAST, **kw),
}


@pytest.fixture(autouse=True)
def _quiet(recwarn):
    """Short fits warn that their loss did not settle: not what these tests are about."""


def make_table(n=120, seed=0):
    """A table of two numeric, one pandas categorical and one string column, with gaps."""
    rng = np.random.RandomState(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "colour": pd.Categorical(colour),
        "size": pd.Series(np.where(colour == "red", "big", "small"), dtype=object),
        "y": rng.normal(size=n),
    })
    frame.loc[3, "colour"] = np.nan
    frame.loc[4, "size"] = None
    frame.loc[5, "x"] = np.nan
    return frame


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS)
def test_from_dtype_fits_and_scores_every_row(make):
    frame = make_table()
    before = frame.copy()
    estimator = make(categorical_features="from_dtype").fit(frame)
    assert estimator.is_categorical_.tolist() == [False, True, True, False]
    assert [column.tolist() for column in estimator.categories_] == [
        ["blue", "green", "red"], ["big", "small"]]  # NaN and None are no category
    assert estimator.n_features_in_ == 4
    assert np.isfinite(estimator.score_samples(frame)).all()
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("spec", [[1, 2], ["colour", "size"], [False, True, True, False]],
                         ids=["indices", "names", "mask"])
def test_explicit_columns_are_those_of_from_dtype(spec):
    frame = make_table()
    explicit = ESTIMATORS["transformer"](categorical_features=spec).fit(frame)
    from_dtype = ESTIMATORS["transformer"](categorical_features="from_dtype").fit(frame)
    assert explicit.is_categorical_.tolist() == from_dtype.is_categorical_.tolist()
    np.testing.assert_allclose(explicit.transform(frame), from_dtype.transform(frame))


def test_integer_codes_in_an_array_can_be_categorical():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=60), rng.randint(0, 4, 60)])
    model = ESTIMATORS["transformer"](categorical_features=[1]).fit(X)
    assert model.categories_[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    decoded = model.inverse_transform(model.transform(X))
    assert set(decoded[:, 1]) <= {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS)
def test_object_columns_without_categorical_features_name_the_parameter(make):
    estimator = make()
    with pytest.raises(ValueError, match=r"'colour', 'size'.*categorical_features"):
        estimator.fit(make_table())
    assert not estimator.__sklearn_is_fitted__()


@pytest.mark.parametrize("spec", ["from_dtype", None, []])
def test_numeric_input_is_unchanged_without_categorical_columns(spec):
    X = np.random.RandomState(0).normal(size=(50, 3))
    plain = ESTIMATORS["detector"]().fit(X)
    model = ESTIMATORS["detector"](categorical_features=spec).fit(X)
    assert "categories_" not in vars(model) and "is_categorical_" not in vars(model)
    np.testing.assert_array_equal(model.score_samples(X), plain.score_samples(X))


def test_mixed_types_are_an_error_that_keeps_the_previous_model():
    frame = make_table()
    model = ESTIMATORS["detector"](categorical_features="from_dtype").fit(frame)
    scores = model.score_samples(frame)
    mixed = frame.assign(size=pd.Series(["big", 1, "small"] * 40, dtype=object))
    before = mixed.copy()
    with pytest.raises(ValueError, match=r"'size' mixes types \(number, str\)"):
        model.fit(mixed)
    pd.testing.assert_frame_equal(mixed, before)
    np.testing.assert_array_equal(model.score_samples(frame), scores)


def test_a_string_in_a_numeric_column_names_the_parameter():
    frame = make_table().astype({"x": object})
    frame.loc[0, "x"] = "oops"
    with pytest.raises(ValueError, match="numeric column.*'x'.*categorical_features"):
        ESTIMATORS["transformer"](categorical_features=["colour", "size"]).fit(frame)


def test_bad_specifications_are_errors():
    frame = make_table()
    with pytest.raises(ValueError, match="not columns of X"):
        ESTIMATORS["transformer"](categorical_features=["shade"]).fit(frame)
    with pytest.raises(ValueError, match="boolean mask needs 4"):
        ESTIMATORS["transformer"](categorical_features=[True, False]).fit(frame)
    with pytest.raises(ValueError, match=r"indices in \[0, 4\)"):
        ESTIMATORS["transformer"](categorical_features=[7]).fit(frame)
    with pytest.raises(ValueError, match="dense input"):
        ESTIMATORS["transformer"](categorical_features=[0]).fit(sp.random(20, 3, 0.5))
    with pytest.raises(ValueError, match="'colour' has every entry missing"):
        ESTIMATORS["transformer"](categorical_features="from_dtype").fit(
            frame.assign(colour=pd.Categorical([np.nan] * len(frame), ["red"])))


def test_missing_category_is_a_missing_entry():
    frame = make_table()
    model = ESTIMATORS["detector"](categorical_features="from_dtype").fit(frame)
    errors = model.feature_errors(frame)
    assert errors.shape == (len(frame), 4)
    assert np.isnan(errors[3, 1]) and np.isnan(errors[4, 2]) and np.isnan(errors[5, 0])
    assert np.isfinite(np.delete(errors, [3, 4, 5], axis=0)).all()
    # The score is the mean over the observed columns, categorical ones included.
    np.testing.assert_allclose(np.nanmean(errors, axis=1), -model.score_samples(frame),
                               rtol=1e-5)


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS)
def test_unseen_category_follows_handle_unknown(make):
    frame = make_table()
    unseen = frame.iloc[:6].copy()
    unseen["colour"] = unseen["colour"].cat.add_categories("purple")
    unseen.loc[0, "colour"] = "purple"
    model = make(categorical_features="from_dtype", handle_unknown="error").fit(frame)
    with pytest.raises(ValueError, match="'colour' holds categories not seen.*'purple'"):
        model.score_samples(unseen)
    as_missing = unseen.copy()
    as_missing.loc[0, "colour"] = np.nan
    model.set_params(handle_unknown="ignore")
    np.testing.assert_allclose(model.score_samples(unseen), model.score_samples(as_missing))


def test_max_error_scores_an_unseen_category_as_the_least_likely():
    frame = make_table()
    model = ESTIMATORS["detector"](categorical_features="from_dtype").fit(frame)
    assert model.handle_unknown == "max_error"  # the detector's default
    row = frame.iloc[[0]].copy()
    row["colour"] = row["colour"].cat.add_categories("purple")
    errors = {}
    for colour in ["red", "green", "blue", "purple"]:
        row.loc[row.index[0], "colour"] = colour
        errors[colour] = model.feature_errors(row)[0, 1]
    assert errors["purple"] == pytest.approx(max(errors.values()))


def test_categorical_error_is_the_scaled_negative_log_likelihood():
    logits = torch.tensor([[0.5, 2.0, -1.0, 0.3]])
    target = torch.tensor([[0.25, float("nan"), 1.0, float("nan")]])
    log_p = torch.log_softmax(logits[:, 1:4], dim=1)[0]
    for loss, scale in [("mse", 0.4), ("mae", 3.0)]:
        errors = CategoricalReconstructionLoss(loss, blocks=((1, 4),), block_scale=(scale,)
                                               ).elementwise(logits, target)[0]
        assert float(errors[2]) == pytest.approx(-scale * float(log_p[1]))
        assert torch.isnan(errors[[1, 3]]).all()
    unseen = torch.tensor([[0.25, 0.0, float("nan"), float("nan")]])
    errors = CategoricalReconstructionLoss("mse", blocks=((1, 4),), block_scale=(0.4,)
                                           ).elementwise(logits, unseen)[0]
    assert float(errors[1]) == pytest.approx(-0.4 * float(log_p.min()))


def frequencies_error(model, frame):
    """Each categorical column's mean error when predicted by its training frequencies."""
    encoding = fitted_encoding(vars(model))
    encoded = torch.as_tensor(encoding.encode(frame.to_numpy(dtype=object), "error",
                                              fitting=False))
    logits = encoded.clone()
    for start, stop in encoding.blocks:  # the log frequencies, in every row
        counts = torch.nansum(encoded[:, start:stop], dim=0)
        logits[:, start:stop] = torch.log(counts / counts.sum())
    errors = model.net_.criterion_.elementwise(logits, encoded).numpy()
    return np.nanmean(encoding.column_errors(errors)[:, encoding.categorical], axis=0)


def trivial_numeric_error(columns, loss):
    """The numeric columns' mean error under minmax scaling when predicted by a constant."""
    low, high = np.nanmin(columns, axis=0), np.nanmax(columns, axis=0)
    scaled = (columns - low) / (high - low)
    if loss == "mae":
        return np.nanmean(np.abs(scaled - np.nanmedian(scaled, axis=0)), axis=0).mean()
    return np.nanmean((scaled - np.nanmean(scaled, axis=0)) ** 2, axis=0).mean()


@pytest.mark.parametrize("loss", ["mae", "mse"])
def test_predicting_the_frequencies_costs_what_a_constant_costs_a_numeric_column(loss):
    frame = make_table()
    frame.loc[7, "x"] = np.nan
    frame["y"] *= 10.0
    model = ESTIMATORS["detector"](categorical_features="from_dtype", loss=loss,
                                   scaling="minmax").fit(frame)
    unit = trivial_numeric_error(frame[["x", "y"]].to_numpy(), loss)
    np.testing.assert_allclose(frequencies_error(model, frame), [unit, unit], rtol=1e-5)


def test_without_numeric_columns_the_frequencies_cost_1():
    frame = make_table()[["colour", "size"]]
    for make in ESTIMATORS.values():
        model = make(categorical_features="from_dtype").fit(frame)
        np.testing.assert_allclose(frequencies_error(model, frame), [1.0, 1.0], rtol=1e-5)


def test_the_huber_unit_is_the_error_of_the_huber_location():
    frame = make_table()
    frame["y"] *= 5.0  # mostly beyond Huber's quadratic part: neither mean nor median
    model = AutoencoderTransformer(categorical_features="from_dtype", loss="huber",
                                   scaling=None, **FAST).fit(frame)

    def huber(residual):
        return np.where(np.abs(residual) < 1, 0.5 * residual ** 2, np.abs(residual) - 0.5)

    best = [min(huber(column[~np.isnan(column)] - c).mean() for c in np.linspace(-3, 3, 6001))
            for column in frame[["x", "y"]].to_numpy().T]
    np.testing.assert_allclose(frequencies_error(model, frame), [np.mean(best)] * 2, rtol=1e-4)


def test_an_unusual_combination_of_categories_scores_low():
    rng = np.random.RandomState(0)
    first = rng.choice(list("abcd"), 400)
    frame = pd.DataFrame({"x": rng.normal(size=400), "first": first,
                          "second": np.char.upper(first.astype(str))}).astype(
        {"first": object, "second": object})
    model = AutoencoderOutlierDetector(n_estimators=2, max_steps=400,
                                       categorical_features="from_dtype", **CPU).fit(frame)
    typical = frame.iloc[:20]
    odd = typical.assign(second=np.roll(typical["second"].to_numpy(), 1))
    odd = odd[odd["second"] != typical["second"]]
    assert model.score_samples(odd).max() < np.median(model.score_samples(typical))


@pytest.mark.parametrize("name", ["transformer", "vae"])
def test_inverse_transform_and_sample_give_categories(name):
    frame = make_table()
    model = ESTIMATORS[name](categorical_features="from_dtype").fit(frame)
    decoded = model.inverse_transform(model.transform(frame))
    assert decoded.shape == (len(frame), 4)
    assert set(decoded[:, 1]) <= {"red", "green", "blue"}
    assert set(decoded[:, 2]) <= {"big", "small"}
    assert np.isfinite(decoded[:, [0, 3]].astype(float)).all()
    if name == "vae":
        assert set(model.sample(5, random_state=0)[:, 2]) <= {"big", "small"}


def test_pandas_output_and_feature_names():
    frame = make_table()
    model = ESTIMATORS["transformer"](categorical_features="from_dtype").set_output(
        transform="pandas").fit(frame)
    codes = model.transform(frame)
    assert list(codes.columns) == list(model.get_feature_names_out())
    assert list(model.feature_names_in_) == ["x", "colour", "size", "y"]


def test_partial_fit_keeps_the_categories_of_its_first_chunk():
    frame = make_table()
    model = ESTIMATORS["transformer"](categorical_features="from_dtype")
    model.partial_fit(frame.iloc[:60]).partial_fit(frame.iloc[60:])
    assert model.categories_[0].tolist() == ["blue", "green", "red"]
    weights = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
    unseen = frame.iloc[60:].copy()
    unseen["colour"] = unseen["colour"].cat.add_categories("purple")
    unseen.loc[unseen.index[0], "colour"] = "purple"
    with pytest.raises(ValueError, match="not seen in training"):
        model.partial_fit(unseen)
    for key, value in model.net_.module_.state_dict().items():
        torch.testing.assert_close(value, weights[key])
    model.set_params(handle_unknown="ignore").partial_fit(unseen)  # trained as missing


def test_pickle_round_trip():
    frame = make_table()
    model = ESTIMATORS["detector"](categorical_features="from_dtype").fit(frame)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.score_samples(frame), model.score_samples(frame))


def test_onnx_export_refuses_categorical_columns():
    model = ESTIMATORS["detector"](categorical_features="from_dtype").fit(make_table())
    with pytest.raises(ValueError, match="models categorical columns.*OneHotEncoder"):
        skae.to_onnx(model)


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS)
def test_safe_format_round_trip(make, tmp_path):
    frame = make_table()
    model = make(categorical_features="from_dtype").fit(frame)
    loaded = skae.load(skae.save(model, tmp_path / "model.safetensors"))
    assert [column.tolist() for column in loaded.categories_] == [
        column.tolist() for column in model.categories_]
    np.testing.assert_array_equal(loaded.score_samples(frame), model.score_samples(frame))
    if hasattr(model, "transform"):
        codes = model.transform(frame)
        np.testing.assert_array_equal(loaded.inverse_transform(codes),
                                      model.inverse_transform(codes))


def test_safe_format_refuses_inconsistent_categories(tmp_path):
    from skae._fitted_schema import fitted_problems
    model = ESTIMATORS["detector"](categorical_features="from_dtype").fit(make_table())
    fitted = fitted_state(model)
    fitted["categories_"] = fitted["categories_"][:1]
    assert fitted_problems(model, fitted)[0] in ("input_offset_", "categories_")
    fitted = fitted_state(model)
    fitted["categorical_error_scale_"] = fitted["categorical_error_scale_"][:1]
    assert fitted_problems(model, fitted)[0] == "categorical_error_scale_"
    del fitted["categorical_error_scale_"]
    assert fitted_problems(model, fitted) == (
        "categories_", "expected categorical_error_scale_ with it")
