"""lr_schedule="adaptive" (scikit-learn's learning_rate="adaptive"): the rate divided by 5 at each plateau of the
loss, training stopped at a plateau at a rate of at most 1e-6; both paths, the reference, checkpoints, and
scikit-learn's own SGDRegressor step for step."""

import itertools
import warnings

import numpy as np
import pytest

from gluonlr import fit, synthetic_data
from gluonlr.callbacks import Callback
from gluonlr.schedules import Adaptive, make_schedule
from gluonlr.testing import reference_fit

X, y = synthetic_data(n=100)
OPTIONS = dict(lr=0.02, epochs=80, tol=1e-3, lr_schedule="adaptive")


@pytest.fixture(params=["manual", "gluon"])
def path(request):
    return request.param


def test_a_plateau_divides_the_rate_until_it_is_at_most_min_lr():
    schedule = Adaptive()
    assert make_schedule("adaptive") == schedule and schedule.params() == {"factor": 5.0, "min_lr": 1e-6}
    assert schedule.on_plateau(0.1) == 0.1 / 5 and schedule.on_plateau(1e-6) is None
    assert (
        schedule.lr_at(123, lr=0.3, n_batches=7, epochs=2) == 0.3
        and schedule.mxnet_scheduler(lr=0.3, n_batches=7, epochs=2) is None
    )
    assert Adaptive(factor=2, min_lr=0.01).on_plateau(0.02) == 0.01 and Adaptive(min_lr=0.01).on_plateau(0.01) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(factor=1.0), r"The 'factor' parameter of Adaptive must be a float > 1. Got 1.0"),
        (dict(factor="5"), r"The 'factor' parameter of Adaptive must be a float > 1. Got '5'"),
        (dict(min_lr=-1e-6), r"The 'min_lr' parameter of Adaptive must be a float >= 0. Got -1e-06"),
        (dict(min_lr=float("nan")), r"The 'min_lr' parameter of Adaptive must be a float >= 0. Got nan"),
    ],
)
def test_bad_parameters_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        Adaptive(**options)


def test_every_plateau_divides_the_rate_and_the_last_one_stops(path):
    result = fit(X, y, path=path, **OPTIONS)
    rates = result.history["lr"]
    assert rates[0] == 0.02 and all(later <= earlier for earlier, later in itertools.pairwise(rates))
    distinct = sorted(set(rates), reverse=True)
    np.testing.assert_allclose(distinct, [0.02 / 5**k for k in range(len(distinct))], rtol=1e-12)
    assert result.converged and distinct[-1] <= 1e-6 < distinct[-2]  # stopped at a plateau at a rate <= 1e-6
    assert result.n_epochs < OPTIONS["epochs"]


def test_both_paths_equal_the_float64_reference(path):
    result = fit(X, y, path=path, dtype="float64", **OPTIONS)
    expected = reference_fit(X, y, dtype="float64", **OPTIONS)
    assert result.history["lr"] == expected.history["lr"] and result.converged is expected.converged is True
    np.testing.assert_allclose(result.weight, expected.weight, rtol=1e-10)
    np.testing.assert_allclose(result.history["loss"], expected.history["loss"], rtol=1e-9)


def test_without_tol_the_rate_never_changes(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(X, y, path=path, lr=0.02, epochs=12, lr_schedule="adaptive")
    constant = fit(X, y, path=path, lr=0.02, epochs=12)
    assert result.history["lr"] == [0.02] * 12 and result.weight.tobytes() == constant.weight.tobytes()


class _StopAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 == self.epochs:
            self.run.stop_training = True


def test_a_resumed_run_goes_on_at_the_divided_rate(tmp_path, path):
    whole = fit(X, y, path=path, **OPTIONS)
    cut_at = next(i for i, rate in enumerate(whole.history["lr"]) if rate < 0.02 / 5) + 2  # after two divisions
    checkpoint = tmp_path / "cut.params"
    stopped = fit(X, y, path=path, **OPTIONS, checkpoint=checkpoint, callbacks=[_StopAfter(cut_at)])
    assert stopped.n_epochs == cut_at and stopped.history["lr"][-1] < 0.02 / 5
    resumed = fit(X, y, path=path, **OPTIONS, checkpoint=checkpoint, resume=True)
    assert resumed.history == whole.history and resumed.weight.tobytes() == whole.weight.tobytes()


@pytest.mark.parametrize("path_", ["manual", "gluon"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_equals_scikit_learns_adaptive_sgdregressor(path_, fit_intercept):
    """Batches of one row in order, squared_error (fit's "l2"), float64: the same plateaus, rates and epochs.

    scikit-learn compares the epoch's summed loss with the best minus ``tol * n``: fit's mean loss against the
    best minus ``tol``. The coefficients agree to 1e-7, not 1e-10: after a plateau the rate (2**-5 / 5**k) is no
    longer a power of two, and MXNet's kernels round it to float32.
    """
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    features = rng.standard_normal((40, 3))
    target = features @ np.array([1.0, -2.0, 0.5]) + (1.5 if fit_intercept else 0.0) + 0.3 * rng.standard_normal(40)
    lr, tol, epochs = 2.0**-5, 1e-3, 200
    theirs = linear_model.SGDRegressor(
        loss="squared_error", penalty=None, learning_rate="adaptive", eta0=lr, tol=tol, n_iter_no_change=5,
        shuffle=False, max_iter=epochs, fit_intercept=fit_intercept,
    ).fit(features, target)  # fmt: skip
    ours = fit(features, target, path=path_, loss="l2", batch_size=1, shuffle=False, lr=lr, epochs=epochs,
               tol=tol, lr_schedule="adaptive", dtype="float64", init="zeros", fit_intercept=fit_intercept,
               verbose=0)  # fmt: skip
    assert ours.n_epochs == theirs.n_iter_ < epochs and ours.converged
    np.testing.assert_allclose(ours.weight, theirs.coef_, rtol=1e-7)
    np.testing.assert_allclose(ours.bias, theirs.intercept_[0], rtol=1e-7, atol=1e-12)
