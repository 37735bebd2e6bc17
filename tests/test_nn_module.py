"""nn.Module's API as mlx.nn.Module documents it: state, parameters, trainable_parameters,
children, leaf_modules, modules, named_modules, update / update_modules, apply,
apply_to_modules, filter_and_map, freeze / unfreeze, train / eval, set_dtype,
save_weights / load_weights, and a Module as a differentiated argument."""
import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from ember.utils import tree_flatten


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(3, 4), nn.Linear(4, 2)]
        self.norm = nn.LayerNorm(2)
        self.scale = mx.array(2.0)
        self._hidden = mx.array(1.0)  # underscore: state, not a parameter
        self.name = "net"

    def __call__(self, x):
        x = nn.relu(self.layers[0](x))
        return self.norm(self.layers[1](x)) * self.scale


def keys(tree):
    return [k for k, _ in tree_flatten(tree)]


def test_state_is_the_module_dict_and_parameters_leave_out_underscored():
    net = Net()
    assert net.state is net
    assert "_hidden" in net.state and "_hidden" not in net.parameters()
    assert keys(net.parameters()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                      "layers.1.bias", "norm.weight", "norm.bias", "scale"]
    # updating replaces entries of the same dicts: a captured state sees new arrays
    state = net.state
    net.update({"scale": mx.array(3.0)})
    assert state["scale"].item() == 3.0
    assert net.name == "net" and "name" not in net


def test_trainable_parameters_leave_frozen_leaves_out():
    net = Net()
    net.layers[0].freeze()
    net.freeze(recurse=False, keys=["scale"])
    assert keys(net.trainable_parameters()) == ["layers.1.weight", "layers.1.bias", "norm.weight",
                                                "norm.bias"]
    assert net.trainable_parameters()["layers"][0] == {}
    net.unfreeze(keys="scale", recurse=False)
    assert "scale" in net.trainable_parameters()
    net.unfreeze()
    assert keys(net.trainable_parameters()) == keys(net.parameters())
    net.layers[1].freeze(keys=["bias"])
    assert "bias" not in net.trainable_parameters()["layers"][1]
    with pytest.raises(KeyError, match="nope"):
        net.freeze(keys=["nope"], strict=True)
    net.freeze(keys=["nope"])  # not strict: ignored


def test_children_leaf_modules_modules_named_modules():
    net = Net()
    ch = net.children()
    assert set(ch) == {"layers", "norm"}
    assert ch["layers"][0] is net.layers[0] and ch["norm"] is net.norm
    leaves = net.leaf_modules()
    assert leaves["layers"][1] is net.layers[1] and leaves["norm"] is net.norm
    named = dict(net.named_modules())
    assert set(named) == {"", "layers.0", "layers.1", "norm"}
    assert named[""] is net and named["layers.1"] is net.layers[1]
    assert len(net.modules()) == 4
    seen = []
    net.apply_to_modules(lambda k, m: seen.append(k))
    assert sorted(seen) == ["", "layers.0", "layers.1", "norm"]


def test_update_strict_errors_name_the_key():
    net = Net()
    with pytest.raises(ValueError, match="layers.0.nope"):
        net.update({"layers": [{"nope": mx.zeros((1,))}]})
    with pytest.raises(ValueError, match="scale"):
        net.update({"scale": 3.0})
    net.update({"whatever": 1}, strict=False)  # ignored
    w = mx.zeros((2, 4))
    net.update({"layers": [{}, {"weight": w}]})
    assert net.layers[1].weight is w


def test_update_modules_apply_filter_and_map_set_dtype():
    net = Net()
    new = nn.Linear(4, 2, bias=False)
    net.update_modules({"layers": [{}, new]})
    assert net.layers[1] is new
    with pytest.raises(ValueError, match="missing"):
        net.update_modules({"missing": nn.Identity()})
    net.apply(lambda p: mx.zeros_like(p))
    assert all(float(mx.sum(mx.abs(p)).item()) == 0 for _, p in tree_flatten(net.parameters()))
    shapes = net.filter_and_map(lambda m, k, v: isinstance(v, (mx.array, list, nn.Module)) and k != "scale",
                                map_fn=lambda v: v.shape)
    assert shapes["layers"][0]["weight"] == (4, 3) and "scale" not in shapes
    net.set_dtype(mx.float16)
    assert net.layers[0].weight.dtype == mx.float16
    ints = nn.Embedding(4, 2)
    ints.idx = mx.array([1, 2])
    ints.set_dtype(mx.float64)
    assert ints.weight.dtype == mx.float64 and ints.idx.dtype == mx.int32


def test_train_eval():
    net = nn.Sequential(nn.Dropout(0.5), nn.Linear(2, 2))
    assert net.training and net.layers[0].training
    net.eval()
    assert not net.training and not net.layers[0].training
    x = mx.ones((4, 2))
    np.testing.assert_array_equal(np.asarray(net.layers[0](x)), np.ones((4, 2)))
    net.train()
    assert net.layers[0].training


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_save_load_weights(tmp_path, ext):
    net = Net()
    f = str(tmp_path / f"w{ext}")
    net.save_weights(f)
    other = Net()
    other.load_weights(f)
    for (k, a), (k2, b) in zip(tree_flatten(net.parameters()), tree_flatten(other.parameters())):
        assert k == k2
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_load_weights_from_pairs_and_strict_errors():
    net = Net()
    pairs = [(k, mx.ones(v.shape)) for k, v in tree_flatten(net.parameters())]
    net.load_weights(pairs)
    assert float(net.scale.item()) == 1.0
    with pytest.raises(ValueError, match="missing 1 parameter.*scale"):
        net.load_weights(pairs[:-1])
    with pytest.raises(ValueError, match="not in the model: extra.w"):
        net.load_weights(pairs + [("extra.w", mx.ones((1,)))])
    bad = [(k, mx.ones((7,)) if k == "norm.bias" else v) for k, v in pairs]
    with pytest.raises(ValueError, match=r"'norm.bias' has shape \(7,\)"):
        net.load_weights(bad)
    net.load_weights(pairs[:2], strict=False)  # partial load, no error
    with pytest.raises(ValueError, match="Unsupported file type"):
        net.save_weights("weights.bin")


def test_module_as_grad_argument_is_its_parameter_tree():
    net = Net()
    x = mx.random.normal((5, 3))
    before = net.layers[0].weight

    def loss(m, x):
        assert isinstance(m, Net)
        return mx.sum(m(x) ** 2)

    g = mx.grad(loss)(net, x)
    assert keys(g) == keys(net.trainable_parameters())
    assert net.layers[0].weight is before  # the model keeps its arrays
    # the same gradient through nn.value_and_grad
    _, g2 = nn.value_and_grad(net, lambda x: mx.sum(net(x) ** 2))(x)
    for (k, a), (_, b) in zip(tree_flatten(g), tree_flatten(g2)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    # the call's other updates to the module stay (BatchNorm's running statistics)
    bn = nn.BatchNorm(3)
    mx.grad(lambda m, x: mx.sum(m(x)))(bn, x)
    assert float(mx.sum(mx.abs(bn.running_mean)).item()) > 0
    # frozen parameters are left out of the gradient
    net.layers[0].freeze()
    g3 = mx.grad(loss)(net, x)
    assert g3["layers"][0] == {}


def test_value_and_grad_with_model_grads_match_finite_differences():
    net = nn.Linear(3, 1)
    x = mx.random.normal((4, 3))

    def f():
        return mx.sum(mx.square(net(x)))

    _, g = nn.value_and_grad(net, f)()
    eps = 1e-3
    b = net.bias
    net.update({"bias": b + eps})
    up = f().item()
    net.update({"bias": b - eps})
    down = f().item()
    net.update({"bias": b})
    np.testing.assert_allclose(g["bias"].item(), (up - down) / (2 * eps), rtol=1e-2)
