"""Error messages, one or more cases per family: the right Python exception type, raised when
the op is called (not at eval), with a message that names the op the user called and the
offending shapes, axes or dtypes."""
import numpy as np
import pytest

import ember.core as mx


def ones(*shape, dtype=mx.float32):
    return mx.ones(shape, dtype=dtype)


CASES = [
    # ---- binary: broadcasting names both shapes and the op ----
    ("add", lambda: mx.add(ones(2, 3), ones(4)), ValueError,
     r"^\[add\] Shapes \(2, 3\) and \(4,\) cannot be broadcast together\.$"),
    ("multiply_operator", lambda: ones(2, 3) * ones(3, 2), ValueError,
     r"^\[multiply\] Shapes \(2, 3\) and \(3, 2\) cannot be broadcast"),
    ("where", lambda: mx.where(mx.array([True, False]), ones(3), 0.0), ValueError,
     r"^\[where\] Shapes \(2,\) and \(3,\)"),
    ("maximum_complex", lambda: mx.maximum(mx.array([1j]), mx.array([2j])), TypeError,
     r"^\[maximum\] .*complex64"),
    ("subtract_bool", lambda: mx.array([True]) - mx.array([False]), TypeError,
     r"^\[subtract\] .*bool"),
    ("clip_no_bounds", lambda: mx.clip(ones(3), None, None), ValueError, r"^\[clip\] .*a_min"),
    # ---- distributed: the group and the shapes it splits (a group of one process here) ----
    ("sum_scatter_divisible", lambda: mx.distributed.sum_scatter(mx.array(1.0)), ValueError,
     r"^\[sum_scatter\] The input must have at least one dimension"),
    ("send_singleton", lambda: mx.distributed.send(ones(2), 1), ValueError,
     r"^\[send\] The group has a single process"),
    ("all_min_complex", lambda: mx.distributed.all_min(mx.array([1j])), TypeError,
     r"^\[all_min\] complex64"),
    # ---- bitwise ops on floats are TypeErrors that show the dtypes ----
    ("bitwise_and", lambda: mx.bitwise_and(ones(2), ones(2)), TypeError,
     r"^\[bitwise_and\] .*float32"),
    ("bitwise_operator", lambda: mx.array([1.5]) | 1, TypeError, r"^\[bitwise_or\] .*float32"),
    ("left_shift", lambda: mx.left_shift(ones(2, dtype=mx.float16), 1), TypeError,
     r"^\[left_shift\] .*float16"),
    ("bitwise_invert", lambda: ~mx.array([0.5]), TypeError, r"^\[bitwise_invert\] .*float32"),
    # ---- unary: dtypes an op does not take ----
    ("erf_complex", lambda: mx.erf(mx.array([1j])), TypeError, r"^\[erf\] .*complex64"),
    ("round_complex", lambda: mx.round(mx.array([1j])), TypeError, r"^\[round\] .*complex64"),
    ("negative_bool", lambda: -mx.array([True]), TypeError, r"^\[negative\] .*bool"),
    # ---- creation ----
    ("arange_step_zero", lambda: mx.arange(0, 10, 0), ValueError, r"^\[arange\] .*step.*zero"),
    ("arange_infinite", lambda: mx.arange(0, float("inf")), ValueError, r"^\[arange\] .*finite"),
    ("linspace_negative", lambda: mx.linspace(0, 1, -1), ValueError, r"^\[linspace\] .*-1"),
    ("zeros_negative_shape", lambda: mx.zeros((2, -1)), ValueError,
     r"^\[zeros\] Negative dimension in shape \(2, -1\)"),
    ("ones_negative_shape", lambda: mx.ones((-3,)), ValueError, r"^\[ones\] Negative dimension"),
    ("full_broadcast", lambda: mx.full((2, 3), ones(4)), ValueError,
     r"^\[full\] .*\(4,\).*\(2, 3\)"),
    ("eye_negative", lambda: mx.eye(-1), ValueError, r"^\[eye\] "),
    ("tril_1d", lambda: mx.tril(ones(3)), ValueError, r"^\[tril\] .*2 dimensions"),
    # ---- shape ----
    ("reshape_size", lambda: mx.reshape(ones(6), (4,)), ValueError,
     r"^\[reshape\] .*6.*\(4,\)"),
    ("transpose_axis", lambda: mx.transpose(ones(2, 3), (0, 5)), IndexError,
     r"^\[transpose\] Axis 5 is out of bounds"),
    ("broadcast_to", lambda: mx.broadcast_to(ones(3), (2, 4)), ValueError,
     r"^\[broadcast_to\] .*\(3,\).*\(2, 4\)"),
    # ---- reductions: a bad axis is an IndexError naming the axis and the rank ----
    ("sum_axis", lambda: mx.sum(ones(2, 3), axis=2), IndexError,
     r"^\[sum\] Axis 2 is out of bounds"),
    ("mean_axis", lambda: mx.mean(ones(2, 3), axis=-3), IndexError, r"^\[mean\] Axis -3"),
    # ---- linalg ----
    ("matmul", lambda: ones(2, 3) @ ones(4, 5), ValueError,
     r"^\[matmul\] .*\(2, 3\).*\(4, 5\)"),
    # ---- conversion from Python ----
    ("ragged", lambda: mx.array([[1, 2], [3]]), ValueError, r"^\[array\] .*ragged"),
    ("unknown_object", lambda: mx.array(object()), TypeError,
     r"^\[array\] Cannot convert an object of type object"),
    ("unknown_element", lambda: mx.array([1.0, "x"]), TypeError,
     r"^\[array\] Cannot convert an element of type str"),
    ("int_overflow", lambda: mx.array(2**70), OverflowError, r"^\[array\] .*too large"),
    ("item_many", lambda: ones(2, 2).item(), ValueError,
     r"^\[item\] Only arrays with one element .*\(2, 2\)"),
    ("bool_many", lambda: bool(ones(3)), ValueError, r"ambiguous.*\(3,\)"),
]


@pytest.mark.parametrize("fn,err,pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_message(fn, err, pattern):
    with pytest.raises(err, match=pattern):
        fn()


def test_errors_are_raised_when_the_op_is_called():
    """Lazy arrays still fail at the call: nothing about the error waits for eval."""
    a = mx.exp(ones(2, 3))  # unevaluated
    with pytest.raises(ValueError, match=r"\[add\]"):
        mx.add(a, mx.exp(ones(4)))
    with pytest.raises(TypeError, match=r"\[bitwise_xor\]"):
        mx.bitwise_xor(a, a)


def test_type_error_is_not_value_error():
    """ember's TypeError does not also match except ValueError (its own Python type)."""
    with pytest.raises(TypeError) as info:
        mx.bitwise_and(ones(2), ones(2))
    assert not isinstance(info.value, ValueError)


def test_failed_op_leaves_inputs_usable():
    x = mx.array([1.0, 2.0])
    with pytest.raises(ValueError):
        x + ones(3)
    np.testing.assert_array_equal(np.asarray(x + 1), [2.0, 3.0])
