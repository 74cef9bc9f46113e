"""The Keras functional API in TensorFlow's idiom: keras.Input, layers on symbolic inputs, keras.Model(in, out)."""

import numpy as np
import pytest

import tapegrad.tf as tf

keras = tf.keras


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def test_input_and_layer_outputs_are_symbolic():
    inputs = keras.Input(shape=(4,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    assert inputs.shape == (None, 4) and hidden.shape == (None, 8)
    assert inputs.dtype == "float32"


def test_functional_model_computes_what_its_layers_compute():
    inputs = keras.Input(shape=(4,))
    d1, d2 = keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)
    model = keras.Model(inputs=inputs, outputs=d2(d1(inputs)))
    x, _ = _data(5)
    np.testing.assert_allclose(model(x).numpy(), d2(d1(tf.constant(x))).numpy(), rtol=1e-6)
    assert len(model.trainable_variables) == 4
    assert model.layers == [d1, d2]


def test_fit_evaluate_predict_summary(capsys):
    inputs = keras.Input(shape=(4,), name="features")
    x = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="logits")(x)
    model = keras.Model(inputs, outputs, name="classifier")
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x_train, y_train = _data(128)
    history = model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x_train, y_train, verbose=0)
    assert acc > 0.9
    assert model.predict(x_train[:7]).shape == (7, 2)
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "classifier"' in text and "hidden (Dense)" in text and "(None, 16)" in text
    assert "Total params: 114" in text


def test_multiple_inputs_and_outputs_with_a_shared_layer():
    left, right = keras.Input(shape=(3,), name="left"), keras.Input(shape=(3,), name="right")
    shared = keras.layers.Dense(5, activation="tanh", name="shared")
    a, b = shared(left), shared(right)
    total = keras.layers.Dense(1, name="total")(keras.layers.Concatenate()([a, b]))
    which = keras.layers.Dense(2, name="which")(a - b)
    model = keras.Model(inputs=[left, right], outputs=[total, which])
    assert model.output_names == ["total", "which"]
    assert len(model.trainable_variables) == 6  # the shared Dense counts once
    rng = np.random.default_rng(1)
    xl, xr = rng.normal(size=(64, 3)).astype(np.float32), rng.normal(size=(64, 3)).astype(np.float32)
    y_total, y_which = (xl + xr).sum(1, keepdims=True), (xl[:, 0] > xr[:, 0]).astype(np.int64)
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss={"total": "mse", "which": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"total": 1.0, "which": 0.5}, metrics={"which": ["accuracy"]})
    history = model.fit([xl, xr], [y_total, y_which], epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert "which_accuracy" in history.history
    p_total, p_which = model.predict([xl, xr])
    assert p_total.shape == (64, 1) and p_which.shape == (64, 2)
    # the shared layer is one set of weights: both branches change when it changes
    out1 = model([xl[:2], xr[:2]])
    shared.kernel.assign(shared.kernel * 0.0)
    out2 = model([xl[:2], xr[:2]])
    np.testing.assert_allclose(out2[1].numpy(), np.broadcast_to(model.get_layer("which").bias.numpy(), (2, 2)),
                               rtol=1e-6)
    assert not np.allclose(out1[0].numpy(), out2[0].numpy())


def test_dict_inputs_and_gradient_tape():
    inputs = {"a": keras.Input(shape=(2,), name="a"), "b": keras.Input(shape=(2,), name="b")}
    dense = keras.layers.Dense(1)
    out = dense(keras.layers.Add()([inputs["a"], inputs["b"]]))
    model = keras.Model(inputs, out)
    xa, xb = np.ones((3, 2), np.float32), np.full((3, 2), 2.0, np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model({"a": xa, "b": xb}))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model({"b": xb, "a": xa}))
    g_kernel = tape.gradient(loss, dense.kernel)
    np.testing.assert_allclose(g_kernel.numpy().ravel(), [9.0, 9.0])  # d/dkernel of sum((a + b) @ kernel)


def test_a_model_is_a_layer_of_another_model():
    inner_in = keras.Input(shape=(4,))
    inner = keras.Model(inner_in, keras.layers.Dense(3)(inner_in))
    outer_in = keras.Input(shape=(4,))
    outer = keras.Model(outer_in, keras.layers.Dense(1)(inner(outer_in)))
    x, _ = _data(6)
    assert outer(x).shape == (6, 1)
    assert len(outer.trainable_variables) == 4


def test_output_from_an_input_that_is_not_given_is_refused():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    out = keras.layers.Add()([a, b])
    with pytest.raises(ValueError, match="not among the model's inputs"):
        keras.Model(a, out)


def test_sequential_still_takes_an_input():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    assert model(np.zeros((3, 4), np.float32)).shape == (3, 2)


def test_traced_model_with_none_batch_traces_once():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="tanh")(keras.layers.Dense(8)(inputs)))
    serve = tf.function(lambda x: model(x), input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    for n in range(1, 8):
        x, _ = _data(n, seed=n)
        np.testing.assert_allclose(serve(tf.constant(x)).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert serve.trace_count == 1
