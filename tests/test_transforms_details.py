"""Transform details MLX programs rely on: value_and_grad passes any aux output through,
jvp returns tangents in the outputs' structure, arguments without arrays and argnums=()
are errors naming them, and mx.random.state is the key list the samplers advance."""
import numpy as np
import pytest

import ember.core as mx


def test_value_and_grad_aux_passthrough():
    def f(x):
        return mx.sum(x ** 2), {"name": "run", "n": 3, "double": x * 2, "parts": [mx.sum(x), None, 1.5]}

    x = mx.array([1.0, 2.0, 3.0])
    (loss, aux), g = mx.value_and_grad(f)(x)
    assert loss.item() == 14.0
    assert aux["name"] == "run" and aux["n"] == 3 and aux["parts"][1] is None and aux["parts"][2] == 1.5
    np.testing.assert_array_equal(np.asarray(aux["double"]), [2, 4, 6])
    assert aux["parts"][0].item() == 6.0
    np.testing.assert_array_equal(np.asarray(g), [2, 4, 6])  # only the first output differentiated
    # a tuple (loss, a, b) keeps its length and order
    (l2, a, b), _ = mx.value_and_grad(lambda x: (mx.sum(x), "tag", x))(x)
    assert a == "tag" and b.shape == (3,)
    # the aux arrays nest under grad of grad
    def outer(y):
        (l, aux), gy = mx.value_and_grad(lambda z: (mx.sum(z ** 3), z * 2))(y)
        return mx.sum(gy) + mx.sum(aux)

    np.testing.assert_allclose(np.asarray(mx.grad(outer)(x)), 6 * np.asarray(x) + 2, rtol=1e-6)


def test_jvp_tangents_in_the_outputs_structure():
    x = mx.array([1.0, 2.0])
    outs, tans = mx.jvp(lambda v: {"a": v * 2, "b": [mx.sum(v ** 2)]}, (x,), (mx.array([1.0, 0.0]),))
    assert set(outs) == {"a", "b"} and set(tans) == {"a", "b"}
    np.testing.assert_array_equal(np.asarray(tans["a"]), [2, 0])
    assert tans["b"][0].item() == 2.0
    outs, tans = mx.jvp(mx.sin, [mx.array(0.0)], [mx.array(1.0)])
    assert isinstance(outs, list) and isinstance(tans, list) and tans[0].item() == 1.0
    outs, tans = mx.jvp(lambda a, b: (a * b, a + b), [mx.array(2.0), mx.array(3.0)], [mx.array(1.0), mx.array(0.0)])
    assert isinstance(tans, list) and [t.item() for t in tans] == [3.0, 1.0]


def test_differentiating_arguments_without_arrays_is_an_error_naming_them():
    with pytest.raises(TypeError, match="argument 0.*str 'abc'"):
        mx.grad(lambda s, x: mx.sum(x))("abc", mx.array(1.0))
    with pytest.raises(TypeError, match="argument 1.*NoneType"):
        mx.grad(lambda x, y: mx.sum(x), argnums=1)(mx.array(1.0), None)
    with pytest.raises(TypeError, match="keyword argument 'cfg'"):
        mx.grad(lambda x, cfg: mx.sum(x), argnames="cfg")(mx.array(1.0), cfg={"lr": 0.1})
    with pytest.raises(ValueError, match=r"argnums=\(\)"):
        mx.grad(lambda x: mx.sum(x), argnums=())(mx.array(1.0))
    with pytest.raises(ValueError, match=r"argnums=\(\)"):
        mx.value_and_grad(lambda x: mx.sum(x), argnums=[])(mx.array(1.0))
    # argnums=() with argnames is fine
    g = mx.grad(lambda x, w: mx.sum(x * w), argnums=(), argnames="w")(mx.array(2.0), w=mx.array(3.0))
    assert g["w"].item() == 2.0


def test_random_state_is_the_advanced_key():
    mx.random.seed(7)
    assert isinstance(mx.random.state, list) and len(mx.random.state) == 1
    k0 = mx.random.state[0]
    assert k0.dtype == mx.uint32 and k0.shape == (2,)
    np.testing.assert_array_equal(np.asarray(k0), np.asarray(mx.random.key(7)))
    a = mx.random.uniform(shape=(3,))
    k1 = mx.random.state[0]
    # the sampler split state[0]: the first half stays, the second was used
    both = mx.random.split(k0)
    np.testing.assert_array_equal(np.asarray(k1), np.asarray(both[0]))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(mx.random.uniform(shape=(3,), key=both[1])))
    # putting a key back replays the same numbers (what a captured state does)
    mx.random.state[0] = k1
    b1 = mx.random.normal((4,))
    mx.random.state[0] = k1
    np.testing.assert_array_equal(np.asarray(mx.random.normal((4,))), np.asarray(b1))
    saved = mx.random.state[0]
    mx.random.state[0] = mx.array([1.0, 2.0])
    with pytest.raises(TypeError, match="uint32"):
        mx.random.uniform()
    mx.random.state[0] = saved


def test_random_wrong_dtype_is_a_value_error():
    with pytest.raises(ValueError, match=r"\[normal\] dtype"):
        mx.random.normal((2,), dtype=mx.int32)
    with pytest.raises(ValueError, match=r"\[randint\] dtype"):
        mx.random.randint(0, 3, (2,), dtype=mx.float32)
