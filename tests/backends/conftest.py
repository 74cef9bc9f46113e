import pytest


@pytest.fixture(scope="session")
def c_cache(tmp_path_factory):
    """One kernel cache folder for the whole session (kernels compile once), never the user's."""
    return tmp_path_factory.mktemp("tapegrad-kernels")
