// Bindings of ember.core.random: keys, splitting, and the distributions.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

Shape to_shape(nb::handle shape) { return to_shape_arg(shape); }

std::optional<Shape> to_opt_shape(nb::handle shape) {
  if (shape.is_none()) return std::nullopt;
  return to_shape(shape);
}

// mx.random.state: a list holding the key that samplers called without a key use. Each
// such call splits state[0] in two, keeps the first half there and samples with the
// second, so the list is a tree of arrays that mx.compile can capture as an input and
// output. A split of an evaluated key is evaluated at once (four hash rounds), so the keys
// do not chain into a growing graph. The list is the submodule's attribute (looked up per
// call); the submodule outlives every call, so a borrowed handle to it is kept.
nb::handle random_module;

nb::object state() { return random_module.attr("state"); }

array next_state_key() {
  nb::object obj = state();
  if (!nb::isinstance<nb::list>(obj) || nb::len(obj) < 1 || !nb::isinstance<array>(obj[0])) {
    throw nb::value_error("[random] mx.random.state must be a list holding one key array "
                          "(uint32, shape (2,)); reset it with mx.random.seed(s).");
  }
  nb::list st = nb::borrow<nb::list>(obj);
  array k = nb::cast<array>(st[0]);
  array both = random::split(k, 2);
  using V = std::vector<int64_t>;
  array keep = reshape(slice(both, V{0, 0}, V{1, 2}, V{1, 1}), {2});
  array use = reshape(slice(both, V{1, 0}, V{2, 2}, V{1, 1}), {2});
  if (k.is_evaluated()) eval({keep, use});
  st[0] = nb::cast(keep);
  return use;
}

random::Key to_key(nb::handle key) {
  if (key.is_none()) return next_state_key();
  return to_array(key);
}

// Python ints of either sign as 64 bits (negative seeds wrap, as in numpy's masks).
uint64_t to_seed(nb::handle s) {
  if (!nb::isinstance<nb::int_>(s)) {
    throw nb::type_error((std::string("[random] seed must be an int, got ") +
                          nb::type_name(s.type()).c_str() + ".")
                             .c_str());
  }
  uint64_t u;
  if (nb::try_cast<uint64_t>(s, u)) return u;
  return uint64_t(nb::cast<int64_t>(s));
}

// A Python scalar becomes the requested dtype directly (no float32 detour for float64).
array to_param(nb::handle h, Dtype dtype) {
  return to_array(h, is_python_scalar(h) ? std::optional<Dtype>(dtype) : std::nullopt);
}

}  // namespace

void init_random(nb::module_& parent) {
  nb::module_ m = parent.def_submodule(
      "random",
      "Random number generation with counter-based, splittable keys (Threefry-2x32).\n\n"
      "Every sampler takes an optional ``key``; the same key always gives the same numbers.\n"
      "Without a key, the key in ``state`` (a list holding one key) is split: the first half\n"
      "stays in ``state[0]``, the second is used, so successive calls differ; ``seed`` resets\n"
      "it. ``state`` is a tree of arrays that compile can capture as an input and output.");

  random_module = m;
  nb::list initial;
  initial.append(nb::cast(random::detail::next_key()));  // from the clock-seeded C++ global key
  m.attr("state") = initial;
  m.def("seed", [](SeedArg s) {
    uint64_t v = to_seed(s);
    random::seed(v);
    nb::object st = state();
    if (nb::isinstance<nb::list>(st) && nb::len(st) >= 1) {
      st[0] = nb::cast(random::key(v));
    } else {
      nb::list fresh;
      fresh.append(nb::cast(random::key(v)));
      random_module.attr("state") = fresh;
    }
  }, "seed"_a,
        "Resets the global key.\n\n"
        "Args:\n    seed (int): The seed.");
  m.def("key", [](SeedArg s) { return random::key(to_seed(s)); }, "seed"_a,
        "Makes a key from a seed.\n\n"
        "Args:\n    seed (int): The seed.\n\n"
        "Returns:\n    array: A uint32 key of shape (2,).\n\n"
        "Example:\n    >>> k = mx.random.key(0)\n    >>> mx.random.uniform(key=k)  # same value every run");
  def_op(m, "split", [](const array& key, int num) { return random::split(key, num); }, "key"_a,
        "num"_a = 2,
        "Derives num independent keys from a key.\n\n"
        "Args:\n    key (array): The key to split.\n    num (int): How many keys (default 2).\n\n"
        "Returns:\n    array: Keys of shape (num, 2).");
  def_op(m, "bits", [](ShapeArg shape, int width, KeyArg key) {
    return random::bits(to_shape(shape), width, to_key(key));
  }, "shape"_a = nb::make_tuple(), "width"_a = 4, "key"_a = nb::none(),
     "Raw random bits.\n\n"
     "Args:\n    shape (tuple): Output shape.\n    width (int): Bytes per element: 1, 2, 4 or 8 "
     "(uint8 ... uint64).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: Unsigned integers with uniformly random bits.");
  def_op(m, "uniform", [](ArrayArg low, ArrayArg high, ShapeArg shape, Dtype dtype,
                      KeyArg key) {
    return random::uniform(to_shape(shape), dtype, to_param(low, dtype), to_param(high, dtype),
                           to_key(key));
  }, "low"_a = 0.0, "high"_a = 1.0, "shape"_a = nb::make_tuple(), "dtype"_a = Dtype::float32,
     "key"_a = nb::none(),
     "Samples uniformly from the half-open interval [low, high).\n\n"
     "Args:\n    low (scalar or array): Lower bound (included).\n    high (scalar or array): Upper "
     "bound (excluded).\n    shape (tuple): Output shape; low and high must broadcast to it.\n"
     "    dtype (Dtype): A floating type (default float32).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: The samples.");
  def_op(m, "normal", [](ShapeArg shape, Dtype dtype, ArrayArg loc, ArrayArg scale, KeyArg key) {
    auto plain = [](nb::handle h) {
      return h.is_none() || nb::isinstance<nb::float_>(h) || nb::isinstance<nb::int_>(h);
    };
    if (plain(loc) && plain(scale)) {
      float l = loc.is_none() ? 0.0f : nb::cast<float>(loc);
      float s = scale.is_none() ? 1.0f : nb::cast<float>(scale);
      return random::normal(to_shape(shape), dtype, l, s, to_key(key));
    }
    array l = loc.is_none() ? array(0.0f) : to_param(loc, dtype);
    array s = scale.is_none() ? array(1.0f) : to_param(scale, dtype);
    return random::normal(to_shape(shape), dtype, l, s, to_key(key));
  }, "shape"_a = nb::make_tuple(), "dtype"_a = Dtype::float32, "loc"_a = nb::none(),
     "scale"_a = nb::none(), "key"_a = nb::none(),
     "Samples from a normal distribution.\n\n"
     "Args:\n    shape (tuple): Output shape.\n    dtype (Dtype): A floating type (default float32).\n"
     "    loc (scalar or array, optional): Mean (default 0).\n    scale (scalar or array, optional): "
     "Standard deviation (default 1).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: The samples.");
  def_op(m, "randint", [](ArrayArg low, ArrayArg high, ShapeArg shape, Dtype dtype,
                      KeyArg key) {
    return random::randint(to_array(low), to_array(high), to_shape(shape), dtype, to_key(key));
  }, "low"_a, "high"_a, "shape"_a = nb::make_tuple(), "dtype"_a = Dtype::int32, "key"_a = nb::none(),
     "Samples integers uniformly from [low, high).\n\n"
     "Args:\n    low (int or array): Lower bound (included).\n    high (int or array): Upper bound "
     "(excluded); where high <= low the result is low.\n    shape (tuple): Output shape.\n"
     "    dtype (Dtype): An integer type (default int32).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: The samples.");
  def_op(m, "bernoulli", [](ArrayArg p, ShapeArg shape, KeyArg key) {
    return random::bernoulli(to_array(p), to_opt_shape(shape), to_key(key));
  }, "p"_a = 0.5, "shape"_a = nb::none(), "key"_a = nb::none(),
     "Samples booleans that are true with probability p.\n\n"
     "Args:\n    p (scalar or array): Probability of True (default 0.5).\n    shape (tuple, optional): "
     "Output shape (default p's shape).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: bool samples.");
  def_op(m, "truncated_normal", [](ArrayArg lower, ArrayArg upper, ShapeArg shape, Dtype dtype,
                               KeyArg key) {
    return random::truncated_normal(to_param(lower, dtype), to_param(upper, dtype), to_opt_shape(shape),
                                    dtype, to_key(key));
  }, "lower"_a, "upper"_a, "shape"_a = nb::none(), "dtype"_a = Dtype::float32, "key"_a = nb::none(),
     "Samples a standard normal restricted to [lower, upper].\n\n"
     "Args:\n    lower (scalar or array): Lower bound.\n    upper (scalar or array): Upper bound.\n"
     "    shape (tuple, optional): Output shape (default the bounds' broadcast shape).\n"
     "    dtype (Dtype): A floating type (default float32).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: The samples.");
  def_op(m, "gumbel", [](ShapeArg shape, Dtype dtype, KeyArg key) {
    return random::gumbel(to_shape(shape), dtype, to_key(key));
  }, "shape"_a = nb::make_tuple(), "dtype"_a = Dtype::float32, "key"_a = nb::none(),
     "Samples from the standard Gumbel distribution, -log(-log(U)).\n\n"
     "Args:\n    shape (tuple): Output shape.\n    dtype (Dtype): A floating type (default float32).\n"
     "    key (array, optional): The key.\n\n"
     "Returns:\n    array: The samples.");
  def_op(m, "multivariate_normal", [](ArrayArg mean, ArrayArg cov, ShapeArg shape, Dtype dtype,
                                      KeyArg key) {
    return random::multivariate_normal(to_array(mean), to_array(cov), to_shape(shape), dtype, to_key(key));
  }, "mean"_a, "cov"_a, "shape"_a = nb::make_tuple(), "dtype"_a = Dtype::float32, "key"_a = nb::none(),
     "Samples from a multivariate normal distribution.\n\n"
     "The samples are mean + z @ (U sqrt(S) V^T) for standard normal z and the SVD of cov.\n\n"
     "Args:\n    mean (array): Means (..., n).\n    cov (array): Covariances (..., n, n), positive "
     "semi-definite (otherwise the result is not meaningful).\n    shape (tuple): The output's batch "
     "shape; it must be a broadcast of mean.shape[:-1] and cov.shape[:-2] (default: their "
     "broadcast).\n    dtype (Dtype): float32, the only one supported (as in MLX).\n"
     "    key (array, optional): The key.\n\n"
     "Returns:\n    array: Samples (*shape, n).");
  def_op(m, "laplace", [](ShapeArg shape, Dtype dtype, float loc, float scale, KeyArg key) {
    return random::laplace(to_shape(shape), dtype, loc, scale, to_key(key));
  }, "shape"_a = nb::make_tuple(), "dtype"_a = Dtype::float32, "loc"_a = 0.0f, "scale"_a = 1.0f,
     "key"_a = nb::none(),
     "Samples from a Laplace distribution.\n\n"
     "Args:\n    shape (tuple): Output shape.\n    dtype (Dtype): A floating type (default float32).\n"
     "    loc (float): Location (default 0).\n    scale (float): Scale (default 1).\n"
     "    key (array, optional): The key.\n\n"
     "Returns:\n    array: The samples.");
  def_op(m, "categorical", [](ArrayArg logits, AxisArg axis, ShapeArg shape,
                          std::optional<int64_t> num_samples, KeyArg key) {
    return random::categorical(to_array(logits), to_axis("categorical", axis), to_opt_shape(shape), num_samples, to_key(key));
  }, "logits"_a, "axis"_a = -1, "shape"_a = nb::none(), "num_samples"_a = nb::none(),
     "key"_a = nb::none(),
     "Samples category indices from unnormalized log-probabilities.\n\n"
     "Args:\n    logits (array): Log-probabilities (up to a constant) along axis.\n    axis (int): The "
     "category axis (default -1).\n    shape (tuple, optional): Output shape; the other axes of logits "
     "must broadcast to it.\n    num_samples (int, optional): Draws per distribution, on a new last "
     "axis. Give at most one of shape and num_samples.\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: uint32 indices.");
  def_op(m, "permutation", [](ArrayArg x, AxisArg axis, KeyArg key) {
    if (nb::isinstance<nb::int_>(x)) return random::permutation(nb::cast<int64_t>(x), to_key(key));
    return random::permutation(to_array(x), to_axis("permutation", axis), to_key(key));
  }, "x"_a, "axis"_a = 0, "key"_a = nb::none(),
     "A random permutation of arange(x), or x shuffled along axis.\n\n"
     "Args:\n    x (int or array): The size, or the array to shuffle.\n    axis (int): The axis to "
     "shuffle (default 0).\n    key (array, optional): The key.\n\n"
     "Returns:\n    array: The permuted values.");
}
