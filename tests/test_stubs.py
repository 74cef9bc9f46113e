"""tapegrad/tensor.pyi (the Tensor class as type checkers see it, with the methods attached at import) is current."""

from tapegrad import _stubgen


def test_tensor_stub_is_up_to_date():
    assert _stubgen.STUB.read_text() == _stubgen.render(), "run `python -m tapegrad._stubgen` and commit tensor.pyi"


def test_stub_lists_attached_methods_and_operators():
    text = _stubgen.render()
    for line in ("    def relu(self) -> Any: ...", "    def __add__(self, other: Any, /) -> Any: ...",
                 "    def copysign_(self", "    def backward(self, gradient: Any = ..."):
        assert line in text, line
