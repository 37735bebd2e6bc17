// Transform rules of the random family. Bits are a deterministic function of
// the key but carry no derivative: keys are integers, sampling is not smooth.
#include "ember/primitives/random.h"

#include <stdexcept>

#include "ember/errors.h"
#include "ember/export/fields.h"
#include "ember/ops.h"

namespace ember {

Dtype bits_dtype(int width) {
  switch (width) {
    case 1: return Dtype::uint8;
    case 2: return Dtype::uint16;
    case 4: return Dtype::uint32;
    case 8: return Dtype::uint64;
  }
  throw std::invalid_argument(msg("[bits] width must be 1, 2, 4 or 8 bytes, got ", width, "."));
}

// d bits / d key = 0: the tangent is zero.
array RandomBits::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                      const array& out) {
  return zeros_like(out);
}

// No gradient flows into the key.
std::vector<array> RandomBits::vjp(const std::vector<array>& primals, const array&,
                                   const std::vector<int>& argnums, const array&) {
  std::vector<array> res;
  for (size_t i = 0; i < argnums.size(); ++i) res.push_back(zeros_like(primals[argnums[i]]));
  return res;
}

// A batch of keys: move it in front; the kernel evaluates each key on its own,
// so out[b] is exactly what the unbatched op gives for key b.
std::pair<array, int> RandomBits::vmap(const std::vector<array>& inputs,
                                       const std::vector<BatchAxis>& axes) {
  array keys = moveaxis(inputs[0], *axes[0], 0);
  Shape s(keys.shape().begin(), keys.shape().end() - 1);
  s.insert(s.end(), shape_.begin(), shape_.end());
  return {make_node<RandomBits>(std::move(s), bits_dtype(width_), {keys}, shape_, width_), 0};
}

bool RandomBits::is_equivalent(const Primitive& other) const {
  if (!Primitive::is_equivalent(other)) return false;
  auto& o = static_cast<const RandomBits&>(other);
  return o.shape_ == shape_ && o.width_ == width_;
}

void RandomBits::print(std::ostream& os) const {
  os << name() << " shape=" << shape_ << " width=" << width_;
}


// ---- export ----
void RandomBits::serialize(ExportFields& f) const {
  f.add_ints(shape_);
  f.add_int(width_);
}

namespace {
// keys K + (2,) uint32 -> bits K + shape (the shape vmap gives too).
std::vector<array> load_random_bits(ExportFields::Reader& f, const std::vector<array>& in,
                                    const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  Shape shape = f.integers("shape");
  int width = int(f.integer("width", 1, 8));
  Dtype t = bits_dtype(width);  // checks the width
  const array& keys = in[0];
  if (keys.dtype() != Dtype::uint32 || keys.ndim() == 0 || keys.shape(-1) != 2) {
    throw std::invalid_argument(msg("keys must be uint32 of shape (..., 2), got ",
                                    dtype_name(keys.dtype()), " of shape ", keys.shape()));
  }
  shape_size(shape, "random.bits");
  Shape s(keys.shape().begin(), keys.shape().end() - 1);
  s.insert(s.end(), shape.begin(), shape.end());
  shape_size(s, "random.bits");
  return {make_node<RandomBits>(std::move(s), t, {keys}, shape, width)};
}
const detail::RegisterLoaders kLoaders{{"RandomBits", load_random_bits}};
}  // namespace

}  // namespace ember
