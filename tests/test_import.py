import subprocess
import sys

import numpy as np

import gluonlr  # noqa: F401  (restores the aliases)


def test_import_emits_no_warning():
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import gluonlr; gluonlr.fit(*gluonlr.synthetic_data(n=5), epochs=1)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""


def test_only_missing_aliases_are_restored():
    import builtins
    import types

    from gluonlr._mxnet import restore_numpy_aliases

    fake_numpy = types.ModuleType("fake_numpy")
    fake_numpy.int = "kept"
    assert restore_numpy_aliases(fake_numpy) == ["bool", "float", "complex", "object", "str"]
    assert fake_numpy.int == "kept" and fake_numpy.bool is builtins.bool
    assert restore_numpy_aliases(fake_numpy) == []
    assert np.bool is builtins.bool and np.float32 is not float  # the real numpy, after import gluonlr
