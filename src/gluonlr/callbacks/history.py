"""The history of a run: :class:`History` records each epoch's logs."""

from __future__ import annotations

from gluonlr.callbacks.base import Callback


class History(Callback):
    """Append each epoch's logs to ``run.history``; :func:`gluonlr.fit` always runs it first.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> history = fit(*synthetic_data(), epochs=2, validation_split=0.1).history
    >>> sorted(history), len(history["loss"])
    (['loss', 'lr', 'val_loss'], 2)
    """

    priority = -400

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Append ``logs`` to the history."""
        for key, value in logs.items():
            self.run.history.setdefault(key, []).append(value)
