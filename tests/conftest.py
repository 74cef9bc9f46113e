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
