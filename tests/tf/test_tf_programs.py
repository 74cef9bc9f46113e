"""Short TensorFlow programs, in TF's idiom (after TF's guides on gradients, variables, modules, graphs
and Keras), that run unchanged with `import tapegrad.tf as tf`; the expected numbers are TF's."""

import numpy as np
import pytest

import tapegrad.tf as tf


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a.numpy() if hasattr(a, "numpy") else a), b, rtol=tol, atol=tol)


# *** tape semantics (TF answers: what the tape recorded) ***


def test_value_computed_before_the_tape_is_a_constant():
    x = tf.Variable(3.0)
    y = x * x
    with tf.GradientTape() as tape:
        z = y * y
    assert tape.gradient(z, y) is None


def test_reset_discards_the_recording():
    x = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        tape.reset()
        z = y * y
    assert tape.gradient(z, y) is None
    assert tape.gradient(z, x) is None


def test_x_plus_one_outside_the_tape_is_a_plain_tensor():
    x = tf.Variable(2.0)
    got = []
    for _ in range(2):
        with tf.GradientTape() as tape:
            y = x + 1
        got.append(tape.gradient(y, x))
        x = x + 1  # should have been x.assign_add(1)
    close(got[0], 1.0)
    assert got[1] is None


def test_intermediate_inside_the_tape_and_stop_recording():
    x, y = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as t:
        x_sq = x * x
        with t.stop_recording():
            y_sq = y * y
        z = x_sq + y_sq
    grad = t.gradient(z, {"x": x, "y": y})
    close(grad["x"], 4.0)
    assert grad["y"] is None
    close(t.gradient(z, x_sq), 1.0)


def test_backward_keeps_pytorch_semantics():
    x = tf.Variable(3.0)
    y = x * x
    z = y * y
    z.backward()
    close(x.grad, 4 * 27.0)


def test_nested_tapes_second_derivative():
    x = tf.Variable(1.0)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = x * x * x
        dy = t1.gradient(y, x)
    close(dy, 3.0)
    close(t2.gradient(dy, x), 6.0)


# *** modules and Keras ***


class Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        return tf.nn.relu(x @ self.w + self.b)


class SequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)
        self.frozen = tf.Variable(1.0, trainable=False)

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_module_variables_and_submodules():
    m = SequentialModule(name="the_model")
    assert m.name == "the_model"
    assert len(m.trainable_variables) == 4 and len(m.variables) == 5
    assert [type(s).__name__ for s in m.submodules] == ["Dense", "Dense"]
    assert tuple(m(tf.constant([[2.0, 2.0, 2.0]])).shape) == (1, 2)
    assert Dense(1, 1).name == "dense"


def test_keras_subclassed_model_with_tape():
    class MyModel(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = tf.keras.layers.Dense(4, activation="relu")
            self.d2 = tf.keras.layers.Dense(1)

        def call(self, x):
            return self.d2(self.d1(x))

    model = MyModel()
    opt = tf.keras.optimizers.SGD(learning_rate=0.1)
    x = tf.constant(np.random.RandomState(0).randn(16, 3).astype("float32"))
    y = tf.reduce_sum(x, axis=1, keepdims=True)
    losses = []
    for _ in range(20):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    assert len(model.trainable_variables) == 4 and losses[-1] < losses[0]


def test_keras_sequential_fit_evaluate_predict():
    rng = np.random.RandomState(1)
    x = rng.randn(64, 6, 6, 1).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int64")
    model = tf.keras.Sequential([
        tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dropout(0.1),
        tf.keras.layers.Dense(2),
    ])
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "accuracy"} and len(history.history["loss"]) == 2
    loss, acc = model.evaluate(x, y, verbose=0)
    assert 0 <= acc <= 1 and np.isfinite(loss)
    assert model.predict(x[:5]).shape == (5, 2)
    assert len(model.non_trainable_weights) == 2  # the moving statistics


def test_keras_embedding_lstm():
    model = tf.keras.Sequential([tf.keras.layers.Embedding(10, 4), tf.keras.layers.LSTM(5), tf.keras.layers.Dense(1)])
    out = model(tf.constant([[1, 2, 3], [4, 5, 6]]))
    assert tuple(out.shape) == (2, 1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(tf.constant([[1, 2, 3]])))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)


# *** tf.nn against values worked out from TF's definitions ***


def test_nn_losses():
    logits = tf.constant([[2.0, 1.0, 0.1]])
    labels = tf.constant([[1.0, 0.0, 0.0]])
    p = np.exp([2.0, 1.0, 0.1]) / np.exp([2.0, 1.0, 0.1]).sum()
    close(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits), [-np.log(p[0])])
    close(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([0]), logits=logits), [-np.log(p[0])])
    x, z = np.array([-2.0, 0.5, 3.0]), np.array([0.0, 1.0, 1.0])
    want = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    close(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(z, tf.float32), logits=tf.constant(x, tf.float32)), want)
    close(tf.nn.l2_loss(tf.constant([1.0, 2.0])), 2.5)
    mean, var = tf.nn.moments(tf.constant([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
    close(mean, [2.0, 4.0])
    close(var, [1.0, 4.0])


def test_nn_conv2d_and_pool_nhwc_same():
    x = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5, 1)
    k = np.ones((3, 3, 1, 1), np.float32)
    out = tf.nn.conv2d(tf.constant(x), tf.constant(k), strides=2, padding="SAME")
    # SAME with stride 2 on 5: output 3, total padding 2 (one before, one after)
    xp = np.pad(x[0, :, :, 0], 1)
    want = np.array([[xp[i:i + 3, j:j + 3].sum() for j in (0, 2, 4)] for i in (0, 2, 4)])
    assert tuple(out.shape) == (1, 3, 3, 1)
    close(out[0, :, :, 0], want)
    pooled = tf.nn.max_pool2d(tf.constant(x), ksize=2, strides=2, padding="SAME")
    assert tuple(pooled.shape) == (1, 3, 3, 1)
    close(pooled[0, :, :, 0], [[7, 9, 10], [17, 19, 20], [22, 24, 25]])
    avg = tf.nn.avg_pool2d(tf.constant(x), ksize=2, strides=2, padding="SAME")
    close(avg[0, 2, 2, 0], 25.0)  # only the real element is averaged


def test_dropout_and_misc_names():
    tf.random.set_seed(0)
    y = tf.nn.dropout(tf.ones([1000]), rate=0.5)
    vals = set(np.unique(y.numpy()).tolist())
    assert vals <= {0.0, 2.0}
    assert tf.sigmoid(tf.constant(0.0)).numpy() == 0.5
    assert bool(tf.equal(tf.constant([1, 2]), tf.constant([1, 3]))[0])
    assert tf.config.list_physical_devices("CPU")[0].device_type == "CPU"
    assert tf.config.list_physical_devices("GPU") == []
    with tf.device("CPU:0"):
        close(tf.constant(1.0) + 1, 2.0)
    with tf.device("/job:localhost/replica:0/task:0/device:CPU:0"):
        pass
    assert issubclass(tf.errors.InvalidArgumentError, tf.errors.OpError)
    assert tf.dtypes.float32 is tf.float32
    close(tf.linalg.matvec(tf.eye(2), tf.constant([1.0, 2.0])), [1.0, 2.0])
    assert tf.optimizers.Adam is tf.keras.optimizers.Adam


# *** tf.function and AutoGraph ***


def test_function_python_and_tensor_if():
    @tf.function
    def f(x):
        if tf.reduce_sum(x) > 0:
            x = x * x
        else:
            x = -x
        return x

    close(f(tf.constant([1.0, 2.0])), [1.0, 4.0])
    close(f(tf.constant([-1.0, -2.0])), [1.0, 2.0])
    assert f.trace_count == 1  # one graph with both branches

    @tf.function
    def g(x, double):
        if double:  # a Python condition: left alone
            return x * 2
        return x

    close(g(tf.constant(1.0), True), 2.0)


def test_while_with_gradient():
    @tf.function
    def f(x):
        while tf.reduce_sum(x) < 100.0:
            x = x * 2.0
        return x

    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(f(x))
    # 3 -> 6 -> ... -> 192: six doublings
    close(y, 192.0)
    close(tape.gradient(y, x), [64.0, 64.0])


def test_for_over_range_break_and_gradient():
    @tf.function
    def f(x, n):
        acc = tf.constant(0.0)
        for i in tf.range(n):
            if acc > 10.0:
                break
            acc = acc + x * tf.cast(i, tf.float32)
        return acc

    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = f(x, tf.constant(10))
    # acc: 0, 0, 2, 6, 12 -> break
    close(y, 12.0)
    close(tape.gradient(y, x), 6.0)
    close(f(tf.constant(1.0), tf.constant(3)), 3.0)  # same graph, another n


def test_return_inside_loop_and_continue():
    @tf.function
    def first_above(x, limit):
        for v in x:
            if v > limit:
                return v
        return tf.constant(-1.0)

    close(first_above(tf.constant([1.0, 5.0, 7.0]), tf.constant(4.0)), 5.0)
    close(first_above(tf.constant([1.0, 2.0, 3.0]), tf.constant(4.0)), -1.0)

    @tf.function
    def sum_positive(x):
        total = tf.constant(0.0)
        for v in x:
            if v < 0:
                continue
            total += v
        return total

    close(sum_positive(tf.constant([1.0, -2.0, 3.0])), 4.0)


def test_if_return_with_rest_of_function():
    @tf.function
    def f(x):
        if x > 0:
            return x * 10
        y = x - 1
        return y

    close(f(tf.constant(2.0)), 20.0)
    close(f(tf.constant(-2.0)), -3.0)


def test_do_not_convert_and_autograph_off_errors():
    @tf.function(autograph=False)
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(tf.TraceError if hasattr(tf, "TraceError") else Exception, match="tg.cond|tf.cond"):
        f(tf.constant(1.0))

    @tf.autograph.experimental.do_not_convert
    def g(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(Exception, match="cond"):
        tf.function(g)(tf.constant(1.0))


def test_unconvertible_names_the_line():
    @tf.function
    def f(x):
        if x > 0:
            if x > 1:
                return x
            x = x + 1
        return x

    with pytest.raises(tf.autograph.AutoGraphError, match=r"test_tf_programs.py:\d+"):
        f(tf.constant(2.0))


def test_run_functions_eagerly():
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x + 1

    tf.config.run_functions_eagerly(True)
    try:
        f(tf.constant(1.0))
        f(tf.constant(1.0))
    finally:
        tf.config.run_functions_eagerly(False)
    assert len(calls) == 2


def test_input_signature_tensorspec():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(x):
        return tf.reduce_sum(x)

    close(f(tf.constant([1.0, 2.0])), 3.0)
