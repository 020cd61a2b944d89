"""The training engines :func:`gluonlr.fit` drives, one per path, and the :class:`Learner` protocol they satisfy.

:mod:`gluonlr.manual` and :mod:`gluonlr.gluon` hold the article's pieces and
their fast forms; the engines here run those fast forms with what a
production fit adds: several devices, a ``dist_sync`` job, the optimizer's
state and the training state of a checkpoint.

- :class:`Learner`: what fit, the loop, the evaluation passes and the
  callbacks use of a path (``gluonlr/learners/protocol.py``), and
  :func:`model_state`, the entries of its state that make the model;
- :class:`ManualLearner`: the manual path (``gluonlr/learners/manual.py``);
- :class:`GluonLearner`: the Gluon path (``gluonlr/learners/gluon.py``).
"""

from gluonlr.learners.gluon import GluonLearner
from gluonlr.learners.manual import ManualLearner
from gluonlr.learners.protocol import Learner, LearnerData, model_state

__all__ = ["GluonLearner", "Learner", "LearnerData", "ManualLearner", "model_state"]
