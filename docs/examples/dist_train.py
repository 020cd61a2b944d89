"""The article's fit as one worker: gluonlr launch -n 2 -- python dist_train.py"""

import os

from gluonlr import fit, synthetic_data

# The same data in every worker. A large file: X = np.load("X.npy", mmap_mode="r")
X, y = synthetic_data()
# batch_size=10 (the default) is the global batch: 5 rows for each of 2 workers
result = fit(X, y, path="gluon", kvstore="dist_sync", verbose=0)

rank = os.environ["GLUONLR_RANK"]  # set by gluonlr launch
weight, bias, loss = result.weight.round(3), result.bias, result.history["loss"][-1]
print(f"rank {rank}: weight {weight}, bias {bias:.3f}, loss {loss:.6f}")
