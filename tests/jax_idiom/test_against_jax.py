"""The JAX idiom against JAX itself, where JAX is installed (the `bench` extra brings it; skipped otherwise).

The same short programs run with `import jax.numpy as jnp` and with `import tapegrad.numpy as jnp`; values,
dtypes of weakly typed operands and the behaviour of the small APIs (tree, custom_jvp.defjvps, jvp through a
custom_vjp) must agree. Random draws are not compared: JAX's threefry streams are its own.
"""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jjnp = pytest.importorskip("jax.numpy")

import tapegrad as tg  # noqa: E402
import tapegrad.func as tjax  # noqa: E402
import tapegrad.numpy as tjnp  # noqa: E402

X = np.linspace(-2.0, 2.0, 12, dtype=np.float32).reshape(3, 4)


@pytest.mark.parametrize("program", [
    lambda jnp, x: jnp.sum(jnp.tanh(x) * 2.0, axis=0),
    lambda jnp, x: jnp.mean(x ** 2, axis=1, keepdims=True),
    lambda jnp, x: jnp.where(x > 0, jnp.exp(-x), jnp.log1p(x * x)),
    lambda jnp, x: jnp.concatenate([x, jnp.maximum(0.0, x)], axis=1),
    lambda jnp, x: jnp.dot(x, x.T) + jnp.eye(3),
    lambda jnp, x: jnp.linalg.norm(x, axis=1),
    lambda jnp, x: jnp.logaddexp(x, 0.5),
    lambda jnp, x: jnp.cumsum(x, axis=1) - jnp.max(x),
    lambda jnp, x: x.at[0, 1:3].add(10.0).at[2].set(-1.0),
])
def test_programs_agree(program):
    want = np.asarray(program(jjnp, jjnp.asarray(X)))
    got = program(tjnp, tjnp.asarray(X)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", [
    lambda jnp, x: jnp.sum(jnp.sin(x) * x),
    lambda jnp, x: jnp.sum(jnp.linalg.inv(x @ x.T + 3 * jnp.eye(3))),
    lambda jnp, x: jnp.max(jnp.abs(x)) + jnp.sum(jnp.sqrt(x * x + 1.0)),
])
def test_gradients_agree(f):
    want = np.asarray(jax.grad(lambda x: f(jjnp, x))(jjnp.asarray(X)))
    got = tjax.grad(lambda x: f(tjnp, x))(tjnp.asarray(X)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_weak_python_scalars_keep_the_array_dtype():
    for dtype in ("float16", "float32", "int32"):
        a = np.ones(3, dtype=dtype)
        for op in (lambda x: x * 2, lambda x: x + 2.5, lambda x: 2.0 - x):
            assert str(op(tjnp.asarray(a)).dtype).split(".")[-1] == str(op(jjnp.asarray(a)).dtype)
    assert str(tjax.grad(tjnp.tanh)(2.0).dtype).endswith("float32") and jax.grad(jjnp.tanh)(2.0).dtype == "float32"


def test_tree_functions_agree():
    tree = {"b": [1.0, 2.0], "a": (3.0, {"c": 4.0})}
    assert [float(v) for v in tjax.tree.leaves(tree)] == [float(v) for v in jax.tree.leaves(tree)]
    doubled = tjax.tree.map(lambda v: v * 2, tree)
    assert tjax.tree.leaves(doubled) == jax.tree.leaves(jax.tree.map(lambda v: v * 2, tree))


def test_custom_jvp_defjvps_agrees():
    def build(lib, jnp):
        @lib.custom_jvp
        def f(x, y):
            return jnp.sin(x) * y

        f.defjvps(lambda t, ans, x, y: jnp.cos(x) * t * y, lambda t, ans, x, y: jnp.sin(x) * t)
        return f

    jf, tf_ = build(jax, jjnp), build(tjax, tjnp)
    want = jax.jvp(jf, (1.5, 2.0), (0.5, -1.0))
    got = tjax.jvp(tf_, (tjnp.asarray(1.5), tjnp.asarray(2.0)), (tjnp.asarray(0.5), tjnp.asarray(-1.0)))
    np.testing.assert_allclose([float(v) for v in got], [float(v) for v in want], rtol=1e-6)


def test_jvp_of_a_custom_vjp_function_is_refused_by_both():
    def build(lib, jnp):
        @lib.custom_vjp
        def f(x):
            return jnp.sin(x)

        f.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))
        return f

    with pytest.raises(TypeError):
        jax.jvp(build(jax, jjnp), (1.0,), (1.0,))
    with pytest.raises(TypeError):
        tjax.jvp(build(tjax, tjnp), (tg.tensor(1.0),), (tg.tensor(1.0),))
