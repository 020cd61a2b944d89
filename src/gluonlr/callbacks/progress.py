"""A progress bar over the epochs (tqdm): :class:`ProgressBar`."""

from __future__ import annotations

from typing import Any

from gluonlr._validation import check_float
from gluonlr.callbacks.base import Callback


class ProgressBar(Callback):
    """Show a tqdm progress bar of the epochs with the latest loss; ``fit(verbose=1)``.

    Written to standard error. :func:`gluonlr.fit` adds it by default only when
    standard error is a terminal or in a Jupyter kernel (``verbose="auto"``).
    An epoch that runs longer than ``batch_delay`` seconds also shows its own
    bar: samples done, samples per second and the time left (from
    :meth:`~Callback.on_batch_end`, no device read per batch).

    Parameters
    ----------
    batch_delay : float, default=2.0
        Seconds into an epoch before its bar appears (tqdm's ``delay``); short
        epochs never show one.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), epochs=3, verbose=1)  # the same as callbacks=[ProgressBar()]
    """

    priority = -100

    def __init__(self, batch_delay: float = 2.0) -> None:
        self.batch_delay = check_float("batch_delay", batch_delay, low=0.0, where="ProgressBar")
        self.epoch_bar: Any = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Open the bar at the epoch the run starts from."""
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.bar = tqdm(
            total=self.run.epochs, initial=self.run.initial_epoch, unit="epoch", desc=f"gluonlr {self.run.path}"
        )
        self.epoch = self.run.initial_epoch

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Advance the epoch's bar by the batch's samples (the bar shows after ``batch_delay`` seconds)."""
        if self.epoch_bar is None:
            self.epoch_bar = self._tqdm(
                total=len(self.run.y),
                unit="sample",
                unit_scale=True,
                leave=False,
                delay=self.batch_delay,
                desc=f"epoch {self.epoch + 1}/{self.run.epochs}",
            )
        self.epoch_bar.update(int(logs["size"]))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Advance the bar and show the epoch's loss (and validation loss)."""
        self._close_epoch_bar()
        self.epoch = epoch + 1
        shown = {key: f"{logs[key]:.4g}" for key in ("loss", "val_loss") if key in logs}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Close the bars."""
        self._close_epoch_bar()
        self.bar.close()

    def on_train_error(self, error: BaseException) -> None:
        """Close the bars: no half-drawn bar is left behind by an error."""
        self.on_train_end()

    def _close_epoch_bar(self) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None
