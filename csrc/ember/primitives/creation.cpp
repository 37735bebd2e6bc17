// Transform rules of the creation family.
#include "ember/primitives/creation.h"

#include <cmath>

#include "ember/export/fields.h"
#include "ember/ops.h"

namespace ember {

bool Arange::is_equivalent(const Primitive& other) const {
  auto& o = static_cast<const Arange&>(other);
  return Primitive::is_equivalent(other) && o.start_ == start_ && o.step_ == step_;
}

// copy is the identity on values: tangents and cotangents pass through.
array Copy::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                const std::vector<int>&, const array&) {
  return tangents[0];
}
std::vector<array> Copy::vjp(const std::vector<array>&, const array& cotangent,
                             const std::vector<int>&, const array&) {
  return {cotangent};
}
std::pair<array, int> Copy::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  return {copy(inputs[0]), *axes[0]};
}


// ---- export: parameters, and loaders that rebuild each node ----
void Arange::serialize(ExportFields& f) const {
  f.add_float(start_);
  f.add_float(step_);
}

namespace {
const detail::RegisterLoaders kLoaders{
    // arange's length is the stored output's; the kernel fills any dtype from doubles.
    {"Arange", [](ExportFields::Reader& f, const std::vector<array>& in,
                  const std::vector<ExportSpec>& out) -> std::vector<array> {
       detail::expect_inputs(in, 0);
       double start = f.real("start"), step = f.real("step");
       if (!std::isfinite(start) || !std::isfinite(step)) {
         throw std::invalid_argument("start and step must be finite");
       }
       if (out.size() != 1 || out[0].shape.size() != 1) {
         throw std::invalid_argument("it makes one 1-D array");
       }
       shape_size(out[0].shape, "arange");
       return {make_node<Arange>(out[0].shape, out[0].dtype, {}, start, step)};
     }},
    {"Copy", [](ExportFields::Reader&, const std::vector<array>& in,
                const std::vector<ExportSpec>&) -> std::vector<array> {
       detail::expect_inputs(in, 1);
       return {copy(in[0])};
     }},
};
}  // namespace

}  // namespace ember
