"""The README's Python examples run, in order, as written."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    # The step-by-step loops reproduce fit's result on their path (the manual one bit for bit, as it says).
    np.testing.assert_array_equal(namespace["w"].asnumpy().ravel(), namespace["result"].weight)
    np.testing.assert_allclose(
        namespace["dense"].weight.data().asnumpy().ravel(), namespace["by_gluon"].weight, rtol=1e-5
    )
