import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory):
    """Compiled functions run on the C backend by default: their kernels go to a folder of this session, never
    to the user's cache (tests that need their own folder set TAPEGRAD_CACHE_DIR themselves)."""
    old = os.environ.get("TAPEGRAD_CACHE_DIR")
    os.environ["TAPEGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("tapegrad-kernel-cache"))
    yield
    if old is None:
        os.environ.pop("TAPEGRAD_CACHE_DIR", None)
    else:
        os.environ["TAPEGRAD_CACHE_DIR"] = old


@pytest.fixture
def eager_on_c(monkeypatch):
    """Every eager op of the test on the C backend's kernels (backends/c/eager.py) whatever its size, kernels built
    on the calling thread; the eager impls installed before are put back afterwards."""
    from tapegrad.backends import base
    from tapegrad.backends.c import compiler, eager

    if compiler.problem() is not None:
        pytest.skip(f"no C compiler here: {compiler.problem()}")
    monkeypatch.setattr(eager, "SYNC", True)
    for family in eager.LIMITS:
        monkeypatch.setitem(eager.LIMITS, family, 0)
    before = base.installed_eager
    base.install_eager("c")
    yield
    base.install_eager(before)
