// Transform rules of the shape family.
#include "ember/primitives/shape.h"

#include <numeric>

#include "ember/ops.h"

namespace ember {

// ---- BroadcastTo: the vjp sums over the broadcast axes ----
bool BroadcastTo::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const BroadcastTo&>(other).shape_ == shape_;
}
array BroadcastTo::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                       const std::vector<int>&, const array&) {
  return broadcast_to(tangents[0], shape_);
}
std::vector<array> BroadcastTo::vjp(const std::vector<array>& primals, const array& cotangent,
                                    const std::vector<int>&, const array&) {
  const Shape& in = primals[0].shape();
  int lead = int(shape_.size() - in.size());
  std::vector<int> axes;
  for (int i = 0; i < int(shape_.size()); ++i) {
    if (i < lead || (in[i - lead] == 1 && shape_[i] != 1)) axes.push_back(i);
  }
  array g = axes.empty() ? cotangent : sum(cotangent, axes, true);
  return {reshape(g, in)};
}
std::pair<array, int> BroadcastTo::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  // Put the batch first, pad the input's rank to the target's, then broadcast.
  array x = moveaxis(inputs[0], *axes[0], 0);
  Shape s = x.shape();
  Shape padded{s[0]};
  for (size_t i = 0; i < shape_.size() - (s.size() - 1); ++i) padded.push_back(1);
  padded.insert(padded.end(), s.begin() + 1, s.end());
  Shape target{s[0]};
  target.insert(target.end(), shape_.begin(), shape_.end());
  return {broadcast_to(reshape(x, padded), target), 0};
}

// ---- Reshape ----
bool Reshape::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Reshape&>(other).shape_ == shape_;
}
array Reshape::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                   const std::vector<int>&, const array&) {
  return reshape(tangents[0], shape_);
}
std::vector<array> Reshape::vjp(const std::vector<array>& primals, const array& cotangent,
                                const std::vector<int>&, const array&) {
  return {reshape(cotangent, primals[0].shape())};
}
std::pair<array, int> Reshape::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  array x = moveaxis(inputs[0], *axes[0], 0);
  Shape target{x.shape(0)};
  target.insert(target.end(), shape_.begin(), shape_.end());
  return {reshape(x, target), 0};
}

// ---- Transpose: the vjp applies the inverse permutation ----
bool Transpose::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Transpose&>(other).perm_ == perm_;
}
array Transpose::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                     const std::vector<int>&, const array&) {
  return transpose(tangents[0], perm_);
}
std::vector<array> Transpose::vjp(const std::vector<array>&, const array& cotangent,
                                  const std::vector<int>&, const array&) {
  std::vector<int> inverse(perm_.size());
  for (size_t i = 0; i < perm_.size(); ++i) inverse[perm_[i]] = int(i);
  return {transpose(cotangent, inverse)};
}
std::pair<array, int> Transpose::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  // Keep the batch axis where it is and permute the others around it.
  int b = *axes[0];
  std::vector<int> perm;
  for (int p : perm_) perm.push_back(p >= b ? p + 1 : p);
  perm.insert(perm.begin() + b, b);
  return {transpose(inputs[0], perm), b};
}

}  // namespace ember
