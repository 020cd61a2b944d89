"""Callbacks as Keras users write them: any object with some on_* methods, LambdaCallback, the hooks' order, and a
per-batch loss for a callback that asks for it."""

import numpy as np
import pytest

from gluonlr import fit, synthetic_data
from gluonlr.callbacks import Callback, CallbackAdapter, LambdaCallback, as_callback
from gluonlr.data import epoch_order
from gluonlr.testing import reference_fit

X, y = synthetic_data(25)

#: The hooks of a fit of 2 epochs of 25 rows in batches of 10, in order.
BATCHES = [call for k, size in enumerate((10, 10, 5)) for call in (("batch_begin", k, size), ("batch_end", k, size))]
EXPECTED = [
    ("train_begin",),
    *[call for epoch in range(2) for call in [("epoch_begin", epoch), *BATCHES, ("epoch_end", epoch)]],
    ("train_end",),
]


class Duck:
    """No gluonlr base class: Keras' method names only."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs):  # Keras passes a dict: no default needed
        assert logs == {}
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs):
        self.calls.append(("epoch_begin", epoch))

    def on_train_batch_begin(self, batch, logs):  # Keras' name of on_batch_begin
        self.calls.append(("batch_begin", batch, logs["size"]))

    def on_batch_end(self, batch, logs):
        assert "loss" not in logs  # not asked for
        self.calls.append(("batch_end", batch, logs["size"]))

    def on_epoch_end(self, epoch, logs):
        assert set(logs) == {"loss", "lr"} and self.run.history["loss"][-1] == logs["loss"]
        self.calls.append(("epoch_end", epoch))

    def on_train_end(self, logs):
        self.calls.append(("train_end",))


def test_a_duck_typed_object_hears_the_hooks_in_order(path):
    duck = Duck()
    fit(X, y, path=path, epochs=2, batch_size=10, verbose=0, callbacks=[duck])
    assert duck.calls == EXPECTED
    assert duck.run.path == path  # given as its attribute run, where Keras sets model


def test_a_lambda_callback_hears_the_hooks_in_order(path):
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin",)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch, logs["size"])),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs["size"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch)),
        on_train_end=lambda logs: calls.append(("train_end",)),
    )
    fit(X, y, path=path, epochs=2, batch_size=10, verbose=0, callbacks=[callback])
    assert calls == EXPECTED


def test_a_subclass_hears_on_epoch_begin_and_on_batch_begin():
    class Both(Callback):
        def __init__(self):
            self.calls = []

        def on_epoch_begin(self, epoch, logs=None):
            self.calls.append(("epoch_begin", epoch))

        def on_batch_begin(self, batch, logs):
            self.calls.append(("batch_begin", batch, logs["size"]))

    both = Both()
    fit(X, y, epochs=1, batch_size=10, callbacks=[both])
    assert both.calls == [("epoch_begin", 0), ("batch_begin", 0, 10), ("batch_begin", 1, 10), ("batch_begin", 2, 5)]
    assert both.listens_to("on_batch_begin") and not both.listens_to("on_batch_end")


def test_missing_methods_are_no_ops_and_the_batches_cost_nothing_unheard():
    class EpochsOnly:
        def on_epoch_end(self, epoch, logs):
            self.last = epoch

    adapter = as_callback(EpochsOnly())
    assert isinstance(adapter, CallbackAdapter) and repr(adapter).startswith("CallbackAdapter(<")
    assert not adapter.listens_to("on_batch_end") and not adapter.listens_to("on_batch_begin")
    only = EpochsOnly()
    fit(X, y, epochs=3, callbacks=[only])
    assert only.last == 2
    lam = LambdaCallback(on_epoch_end=print)
    assert lam.listens_to("on_epoch_end") and not lam.listens_to("on_batch_end")


def test_a_duck_stops_training_sets_its_run_has_a_priority_and_a_state(tmp_path):
    order = []

    class Stopper:
        priority = -1000  # before gluonlr's History

        def set_run(self, run):
            self.given = run

        def on_epoch_end(self, epoch, logs):
            order.append(("stopper", len(self.given.history.get("loss", []))))
            if epoch == 1:
                self.given.stop_training, self.given.stop_reason = True, "duck says stop"

        def get_state(self):
            return {"seen": len(order)}

    result = fit(X, y, epochs=5, callbacks=[Stopper()], checkpoint=tmp_path / "run.params")
    assert result.stopped_epoch == 1 and result.stop_reason == "duck says stop"
    assert order == [("stopper", 0), ("stopper", 1)]  # before History records the epoch
    from gluonlr.persistence import read_checkpoint

    assert read_checkpoint(tmp_path / "run.params")[1]["callbacks"]["Stopper#0"] == {"seen": 2}


@pytest.mark.parametrize(
    ("callbacks", "message"),
    [
        ([object()], r"must hold gluonlr.callbacks.Callback instances or objects with some of the methods "
                     r"on_train_begin, on_epoch_begin, on_batch_begin, on_batch_end, on_epoch_end, on_train_end "
                     r"\(Keras' names\). Got <object object at .*>, which has none of them."),
        ([print], r"Got <built-in function print>, which is a function: pass LambdaCallback\(on_epoch_end=print\) to "
                  r"call it after each epoch"),
        ([lambda epoch, logs: None], r"which is a function: pass LambdaCallback\(on_epoch_end=<lambda>\)"),
        ([Duck], r"Got <class '.*Duck'>, which is a class: pass an instance, Duck\(\)"),
        (Duck(), r"must be a list of gluonlr.callbacks.Callback or of objects with on_epoch_end and the like .* "
                 r"Got Duck instead"),
        ("on_epoch_end", r"must be a list of .* Got str instead"),
    ],
)  # fmt: skip
def test_what_is_not_a_callback_is_a_type_error(callbacks, message):
    with pytest.raises(TypeError, match=message):
        fit(X, y, epochs=1, callbacks=callbacks)


def test_lambda_callback_and_adapter_check_their_arguments():
    with pytest.raises(TypeError, match=r"The 'on_epoch_end' parameter of LambdaCallback must be a function. Got 3"):
        LambdaCallback(on_epoch_end=3)

    class BadPriority:
        priority = "first"

        def on_epoch_end(self, epoch, logs):
            pass

    with pytest.raises(TypeError, match=r"The priority of a callback must be an int. Got 'first'"):
        as_callback(BadPriority())


class BatchLosses(Callback):
    wants_batch_loss = True

    def on_train_begin(self, logs=None):
        self.losses, self.sizes = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.losses.append([])

    def on_batch_end(self, batch, logs):
        self.losses[-1].append(logs["loss"])
        self.sizes.append(logs["size"])


@pytest.mark.parametrize("weighted", [False, True])
def test_the_batch_loss_equals_the_reference_s(path, weighted):
    X, y = synthetic_data(95)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    losses = BatchLosses()
    result = fit(X, y, path=path, epochs=3, batch_size=10, sample_weight=sample_weight, callbacks=[losses])
    expected = reference_fit(X, y, epochs=3, batch_size=10, sample_weight=sample_weight).batch_losses
    assert [len(epoch) for epoch in losses.losses] == [len(epoch) for epoch in expected] == [10, 10, 10]
    # the first batch's from the same initial parameters: float32 round-off only; the rest within the paths' drift
    np.testing.assert_allclose(losses.losses[0][0], expected[0][0], rtol=1e-6)
    for mine, reference in zip(losses.losses, expected, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-3, atol=1e-4 * expected[0][0])
    # the epoch's loss is the batches' losses, each times its rows, over the rows
    sizes = np.array(losses.sizes[:10])
    for epoch, mine in enumerate(losses.losses):
        np.testing.assert_allclose(np.dot(mine, sizes) / len(y), result.history["loss"][epoch], rtol=1e-5)


def test_the_first_batch_loss_by_hand(path):
    losses = BatchLosses()
    result = fit(X, y, path=path, epochs=1, batch_size=10, init="zeros", loss="l2", callbacks=[losses])
    rows = epoch_order(len(X), seed=0, epoch=0)[:10]
    expected = np.mean(0.5 * y[rows].astype(np.float64) ** 2)  # zero weights: the residuals are -y
    np.testing.assert_allclose(losses.losses[0][0], expected, rtol=1e-6)
    assert result.history["loss"][0] > 0


def test_the_paths_agree_on_the_batch_losses():
    manual, gluon = BatchLosses(), BatchLosses()
    fit(X, y, path="manual", epochs=2, callbacks=[manual])
    fit(X, y, path="gluon", epochs=2, callbacks=[gluon])
    np.testing.assert_allclose(manual.losses, gluon.losses, rtol=1e-5)


def test_the_batch_loss_is_read_only_when_asked(monkeypatch):
    from gluonlr._mxnet import nd

    reads = []
    original = nd.NDArray.asnumpy
    monkeypatch.setattr(nd.NDArray, "asnumpy", lambda self: reads.append(self.shape) or original(self))
    sizes = []
    fit(X, y, epochs=2, batch_size=10, callbacks=[LambdaCallback(on_batch_end=lambda b, logs: sizes.append(logs))])
    assert sizes == [{"size": 10}, {"size": 10}, {"size": 5}] * 2  # no "loss"
    unasked = len(reads)
    asked = []
    log = LambdaCallback(on_batch_end=lambda b, logs: asked.append(logs["loss"]), wants_batch_loss=True)
    fit(X, y, epochs=2, batch_size=10, callbacks=[log])
    assert len(asked) == 6 and len(reads) - 2 * unasked >= 6  # a read a batch, when asked


def test_a_duck_asks_for_the_batch_loss_by_its_attribute(path):
    class Duck:
        wants_batch_loss = True

        def __init__(self):
            self.losses = []

        def on_batch_end(self, batch, logs):
            self.losses.append(logs["loss"])

    duck, subclass = Duck(), BatchLosses()
    fit(X, y, path=path, epochs=1, batch_size=10, callbacks=[duck, subclass])
    assert duck.losses == subclass.losses[0] and len(duck.losses) == 3
