"""The table of fit's options is the one declaration: every surface agrees with it, and its checks speak one way."""

import dataclasses
import inspect
import math
import os
import signal

import numpy as np
import pytest

from gluonlr import fit, synthetic_data
from gluonlr.callbacks import Callback, History, ModelCheckpoint, Run
from gluonlr.cli.options import EXCLUDED_OPTIONS as CLI_EXCLUDED
from gluonlr.cli.options import FIT_FLAGS
from gluonlr.config import FitConfig
from gluonlr.errors import CheckpointError
from gluonlr.loop import Evaluation, train
from gluonlr.options import (
    OPTIONS,
    SURFACES,
    Boolean,
    Choice,
    Integer,
    Real,
    check_options,
    options_of,
    record,
    resolve_batch_size,
)
from gluonlr.phases import PATHS
from gluonlr.testing import reference_fit

X, y = synthetic_data()
DEFAULTS = {name: option.default for name, option in OPTIONS.items()}


def _parameters(function):
    return {name: p.default for name, p in inspect.signature(function).parameters.items() if name not in ("X", "y")}


def test_fit_signature_is_the_table_in_order_with_its_defaults():
    assert list(_parameters(fit).items()) == list(DEFAULTS.items())


def test_estimator_parameters_are_the_tables_estimator_options_in_order_with_their_defaults_there():
    sklearn = pytest.importorskip("gluonlr.sklearn")
    params = _parameters(sklearn.LinearRegressor.__init__)
    params.pop("self")
    # The estimator's own parameters (not fit's options) come last, with their defaults: sklearn.ESTIMATOR_ONLY.
    own = list(sklearn.ESTIMATOR_ONLY)
    assert list(params)[-len(own) :] == own and params["warm_start"] is False
    params = {name: value for name, value in params.items() if name not in sklearn.ESTIMATOR_ONLY}
    # The estimator is a surface for users' own data: its defaults are the table's for it, not fit's.
    assert list(params.items()) == [(option.name, option.default_on("estimator")) for option in options_of("estimator")]
    assert set(sklearn.EXCLUDED_OPTIONS) == {name for name, option in OPTIONS.items() if not option.on("estimator")}


def test_reference_takes_the_tables_reference_options_with_their_defaults():
    params = _parameters(reference_fit)
    assert params == {option.name: option.default for option in options_of("reference")}


def test_fit_config_fields_are_the_tables_config_options_in_order():
    fields = [(field.name, field.default) for field in dataclasses.fields(FitConfig) if field.name != "lr_schedule"]
    expected = [(option.name, option.default) for option in options_of("config") if option.name != "lr_schedule"]
    assert fields == expected
    assert [field.name for field in dataclasses.fields(FitConfig)] == [option.name for option in options_of("config")]


def test_cli_flags_and_exclusions_come_from_the_table():
    assert [flag.option for flag in FIT_FLAGS] == [option.name for option in options_of("cli")]
    assert all(flag.help == OPTIONS[flag.option].help for flag in FIT_FLAGS)
    assert {name for name in CLI_EXCLUDED if name not in ("X", "y")} == {
        name for name, option in OPTIONS.items() if not option.on("cli")
    }


def test_paths_are_the_tables_choices():
    assert OPTIONS["path"].constraint == Choice(tuple(PATHS))


def test_every_exclusion_says_why_and_names_a_known_surface():
    for option in OPTIONS.values():
        assert set(option.not_on) <= set(SURFACES), option.name
        assert all(reason.strip() for reason in option.not_on.values()), option.name
        assert option.help.strip(), option.name
    with pytest.raises(ValueError, match="surface must be one of"):
        OPTIONS["lr"].on("gui")


def test_record_holds_the_tables_record_options():
    recorded = record(check_options(DEFAULTS))
    assert list(recorded) == [option.name for option in options_of("record")]
    assert fit(X, y, epochs=1).params == recorded | {"epochs": 1}


def _bad_value(constraint):
    if isinstance(constraint, Choice):
        return "no-such-name"
    if isinstance(constraint, Integer):
        return constraint.low - 1
    if isinstance(constraint, Real):
        return -1.0 if constraint.low >= 0 else math.inf
    if isinstance(constraint, Boolean):
        return "yes"
    raise AssertionError(constraint)


@pytest.mark.parametrize(
    "name",
    [name for name, option in OPTIONS.items() if not isinstance(option.constraint, type(OPTIONS["lr"].constraint))],
)
def test_every_declared_constraint_refuses_in_scikit_learns_words_before_reading_data(name):
    value = _bad_value(OPTIONS[name].constraint)
    with pytest.raises(ValueError, match=rf"^The '{name}' parameter of fit must be .* Got {value!r} instead\.$"):
        fit(np.array([[np.nan]]), [1.0], **{name: value})  # the option is refused before the data's NaN is seen


def test_a_checkpoint_without_a_newer_option_resumes_as_if_it_had_its_default(tmp_path, monkeypatch):
    path = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=path)
    import gluonlr.phases as phases

    read = phases.read_checkpoint

    def older(source):  # a checkpoint written before 'momentum' existed
        state, meta = read(source)
        del meta["params"]["momentum"]
        return state, meta

    monkeypatch.setattr(phases, "read_checkpoint", older)
    resumed = fit(X, y, epochs=3, checkpoint=path, resume=True)
    assert len(resumed.history["loss"]) == 3
    with pytest.raises(CheckpointError, match=r"momentum=0.0 there, 0.5 here"):
        fit(X, y, epochs=3, checkpoint=path, resume=True, momentum=0.5)


class Order(Callback):
    def __init__(self, name, seen, priority=0):
        self.name, self.seen, self.priority = name, seen, priority

    def on_epoch_end(self, epoch, logs):
        self.seen.append((self.name, "history" if "loss" in self.run.history else "no history"))


def test_callbacks_run_in_the_order_of_their_priority(tmp_path):
    seen = []
    fit(X, y, epochs=1, callbacks=[Order("late", seen), Order("early", seen, priority=-1000)])
    assert seen == [("early", "no history"), ("late", "history")]  # History's priority is -400
    assert [cls.priority for cls in (History, ModelCheckpoint)] == [-400, 1000]


def test_loop_train_with_history_alone_stops_cleanly_on_ctrl_c(path):
    """The docstring's run (callbacks=[History()]), Ctrl-C in epoch 2: no guard to look for, no StopIteration."""
    learner = PATHS[path](X, y, FitConfig(), weight=np.zeros(2, np.float32), bias=0.0)

    class CtrlC(Callback):
        def on_batch_end(self, batch, logs):
            if self.run.epoch == 1 and batch == 3:
                os.kill(os.getpid(), signal.SIGINT)

    run = Run(learner, X, y, path=path, params={}, epochs=3)
    run.callbacks = [History(), CtrlC()]
    stopped_epoch, interrupted = train(run, Evaluation(learner, (), None), {})
    assert (stopped_epoch, interrupted) == (1, True)
    assert len(run.history["loss"]) == 1


def test_init_zeros_starts_from_zero_on_both_paths_and_in_the_reference(path):
    starts = []

    class Start(Callback):
        def on_train_begin(self, logs=None):
            starts.append(self.run.get_parameters())

    fit(X, y, path=path, init="zeros", epochs=1, callbacks=[Start()])
    assert not starts[0][0].any() and starts[0][1] == 0.0
    trained = fit(X, y, path=path, init="zeros", epochs=3)
    reference = reference_fit(X, y, init="zeros", epochs=3)
    np.testing.assert_allclose(trained.weight, reference.weight, rtol=1e-4)


def test_batch_size_auto_is_all_the_rows_up_to_65536(path):
    big = np.tile(X, (3, 1)), np.tile(y, 3)  # 900 rows: one batch of 900, gradient descent
    for data, expected in ((big, 900), ((X[:100], y[:100]), 100)):
        auto = fit(*data, path=path, batch_size="auto", reduction="mean", lr=0.1, epochs=2)
        given = fit(*data, path=path, batch_size=expected, reduction="mean", lr=0.1, epochs=2)
        assert auto.weight.tobytes() == given.weight.tobytes() and auto.params["batch_size"] == "auto"
        reference = reference_fit(*data, batch_size="auto", reduction="mean", lr=0.1, epochs=2)
        np.testing.assert_allclose(auto.weight, reference.weight, rtol=1e-4)
    with pytest.raises(ValueError, match=r"The 'batch_size' parameter of fit must be an int >= 1 or 'auto'. Got 'big'"):
        fit(X, y, batch_size="big")


def test_batch_size_auto_is_64_batches_an_epoch_above_65536_rows(path):
    # 70,000 rows: ceil(70,000 / 64) = 1,094 rows a batch, the last 1,030: fewer steps, and less noise at the end.
    big = np.tile(X, (234, 1))[:70_000], np.tile(y, 234)[:70_000]
    auto = fit(*big, path=path, batch_size="auto", reduction="mean", lr=0.1, epochs=1)
    given = fit(*big, path=path, batch_size=1094, reduction="mean", lr=0.1, epochs=1)
    assert auto.weight.tobytes() == given.weight.tobytes()
    reference = reference_fit(*big, batch_size="auto", reduction="mean", lr=0.1, epochs=1)
    np.testing.assert_allclose(auto.weight, reference.weight, rtol=1e-4)


def test_batch_size_auto_batches_rows_over_64_mib_in_float64():
    # 900 x 10,000 is 72 MB in float64: batches of 256, not one of 900 (a copy of the data a step on the device)
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((900, 10_000), dtype=np.float32), rng.standard_normal(900).astype(np.float32)
    assert [resolve_batch_size("auto", 900, d) for d in (8_000, 10_000)] == [900, 256]
    assert resolve_batch_size("auto", 65_536, 1) == 65_536 and resolve_batch_size("auto", 65_537, 1) == 1_025
    auto = fit(*wide, batch_size="auto", reduction="mean", lr=1e-4, epochs=1, init="zeros")
    given = fit(*wide, batch_size=256, reduction="mean", lr=1e-4, epochs=1, init="zeros")
    assert auto.weight.tobytes() == given.weight.tobytes()


def test_every_user_default_says_why_it_differs_from_fits_and_the_docs_table_shows_them():
    """The docs' table of fit's and the users' data defaults ("Your own data") is made from the table."""
    import sys
    from pathlib import Path

    from gluonlr.options import USER_DEFAULT_REASONS, USER_SURFACES

    differing = {
        name
        for name, option in OPTIONS.items()
        if any(option.on(surface) and option.default_on(surface) != option.default for surface in USER_SURFACES)
    }
    assert set(USER_DEFAULT_REASONS) == differing
    sys.path.insert(0, str(Path(__file__).parents[1] / "docs" / "_ext"))
    try:
        from option_defaults_table import table_lines
    finally:
        sys.path.pop(0)
    table = "\n".join(table_lines())
    for name in differing:
        option = OPTIONS[name]
        row = f"   * - ``{name}``\n     - ``{option.default!r}``\n     - ``{option.default_on('estimator')!r}``\n"
        assert row + f"     - {USER_DEFAULT_REASONS[name]}" in table, name
    assert table.count("   * - ``") == len(differing)
