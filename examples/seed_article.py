"""The seed article's TensorFlow examples (its chapter 2), written against tapegrad, printing what it prints.

    python examples/seed_article.py

Each block follows the article's code line by line with `tf.` replaced by `tg.`. Where the article's
code is broken, tapegrad says so: §2.3.1 watches an integer tensor, which TensorFlow silently ignores
(its gradient is None and the article's `.numpy()` then crashes); tapegrad raises a clear error at
`watch`, and the float version of the same loop gives the gradient 0.0.
"""

import tapegrad as tg


def section_2_1_1():
    tensor1 = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    print("tensor1:", tensor1)
    tensor2 = tensor1 + 1
    print("tensor2 after adding 1:", tensor2)
    tensor3 = tg.reshape(tensor2, [4])
    print("tensor3 reshaped:", tensor3)


def compute(x):
    y = tg.matmul(x, x)
    z = tg.reduce_sum(y)
    return z


def section_2_1_2():
    # @tf.function in the article: graph mode (tg.function) compiles it where available; eagerly otherwise
    graph_fn = tg.function(compute) if hasattr(tg, "function") else compute
    x = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    result = graph_fn(x)
    print("result:", result.numpy())


def section_2_2():
    tg.random.set_seed(0)
    W = tg.Variable(tg.random.normal([2, 2]), name="weight")
    b = tg.Variable(tg.zeros([2]), name="bias")

    def forward(x):
        return tg.matmul(x, W) + b

    x = tg.constant([[1.0, 2.0]])
    with tg.GradientTape() as tape:
        predictions = forward(x)
    gradients = tape.gradient(predictions, [W, b])
    print("gradients of W:", gradients[0])
    print("gradients of b:", gradients[1])

    clip_value = 0.1
    gradients_clipped = [tg.clip_by_value(g, -clip_value, clip_value) if g is not None else None for g in gradients]
    print("gradients after clipping:\n", gradients_clipped)


def while_loop_body(i, acc):
    return i + 1, acc * i


def section_2_3_1():
    i = tg.constant(0)
    acc = tg.constant(1)
    i, acc = tg.while_loop(lambda i, acc: i < 10, while_loop_body, [i, acc])
    print("after the loop: i =", i.numpy(), "acc =", acc.numpy())
    try:
        with tg.GradientTape() as tape:
            tape.watch(i)  # i is an int32 tensor: tapegrad refuses here, with the fix
            result = i * acc
    except TypeError as err:
        print("integer watch refused:", err)

    # the same loop with float loop variables: d(i * acc)/di = acc = 0.0
    i, acc = tg.while_loop(lambda i, acc: i < 10, while_loop_body, [tg.constant(0.0), tg.constant(1.0)])
    with tg.GradientTape() as tape:
        tape.watch(i)
        result = i * acc
    gradient = tape.gradient(result, i)
    print("gradient of i:", gradient.numpy())


@tg.custom_gradient
def my_custom_gradient(x):
    def grad(dy):
        return dy * x  # the article's hand-written rule (the true derivative would be 2 * x)

    return x * x, grad


def section_2_3_2():
    x = tg.Variable(1.0)
    with tg.GradientTape() as tape:
        result = my_custom_gradient(x)
    grad = tape.gradient(result, x)
    print("gradient of my_custom_gradient:", grad.numpy())


def main():
    for section in (section_2_1_1, section_2_1_2, section_2_2, section_2_3_1, section_2_3_2):
        section()


if __name__ == "__main__":
    main()
