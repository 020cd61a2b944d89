"""Checkpoints: :class:`ModelCheckpoint` writes the model and the training state after each epoch."""

from __future__ import annotations

from gluonlr.callbacks.base import Callback
from gluonlr.persistence import PathLike, write_checkpoint


class ModelCheckpoint(Callback):
    """Write a checkpoint after every epoch, atomically; :func:`gluonlr.fit` runs it for ``checkpoint=``.

    See :mod:`gluonlr.persistence` for the files and their format.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        A file name (``run.params``) or a directory (an existing one, or a path
        ending in ``/``); see :func:`~gluonlr.persistence.checkpoint_files`.

    Examples
    --------
    >>> import os, tempfile
    >>> from gluonlr import fit, synthetic_data
    >>> from gluonlr.persistence import read_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "run.params")
    >>> _ = fit(*synthetic_data(), epochs=3, checkpoint=path)  # fit adds ModelCheckpoint(path)
    >>> state, meta = read_checkpoint(path)
    >>> meta["epoch"], sorted(state)
    (3, ['bias', 'model/bias', 'model/weight', 'updates', 'weight'])
    """

    priority = 1000  # last: the epoch's final state

    def __init__(self, checkpoint: PathLike) -> None:
        self.checkpoint = checkpoint

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Save the state after ``epoch + 1`` complete epochs, with the other callbacks' states.

        :func:`gluonlr.fit` runs it after every other callback, so the
        checkpoint holds the epoch's final state: the parameters early stopping
        restored, and whether early stopping ended the run (resumed, such a run
        stays ended; a stop by any other callback, a time budget say, resumes).
        """
        stopped = None
        if self.run.stop_training and self.run.stop_is_final and epoch + 1 < self.run.epochs:
            stopped = {"epoch": epoch, "reason": self.run.stop_reason}
        write_checkpoint(
            self.checkpoint,
            state=self.run.get_state(),
            epoch=epoch + 1,
            path=self.run.path,
            params=self.run.params,
            history=self.run.history,
            data=self.run.data_fingerprint(),
            callbacks=self.run.callback_states(),
            stopped=stopped,
            model=self.run.get_parameters(),  # in the units of X (the state may be standardized)
        )
