// Transform rules of the collectives (AllReduce, AllGather, SumScatter, Send, Recv), written
// with the collective ops themselves, so that they nest and run over the same group.
#include "ember/primitives/distributed.h"

#include "ember/errors.h"
#include "ember/export/fields.h"
#include "ember/ops.h"

namespace ember {

using distributed::detail::Reduce;

namespace {

// The group a primitive was built with, as the ops take it.
std::optional<distributed::Group> g(const distributed::Group& group) { return group; }

// Exported files name no group: a collective is exported when it runs over the global group
// and is rebuilt over the global group of the process that imports it.
void check_global(const distributed::Group& group, const char* name) {
  if (group.comm() != distributed::init().comm()) {
    throw std::invalid_argument(msg("[export_function] ", name,
                                    " over a group made by Group.split cannot be exported "
                                    "(only collectives over the global group can)."));
  }
}

// x with its batch axis b moved to 1 (axis 0 is the one the collective gathers or scatters);
// a batch of 0-d values becomes shape (1, batch).
array batch_to_axis1(const array& x, int b) {
  if (x.ndim() == 1) return expand_dims(x, {0});
  return b == 1 ? x : moveaxis(x, b, 1);
}

// The AllReduce node of reduction r (the op of that name).
array all_reduce(const array& x, Reduce r, std::optional<distributed::Group> group) {
  switch (r) {
    case Reduce::sum: return distributed::all_sum(x, group);
    case Reduce::max: return distributed::all_max(x, group);
    default: return distributed::all_min(x, group);
  }
}

}  // namespace

bool GroupPrimitive::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) &&
         static_cast<const GroupPrimitive&>(other).group_.comm() == group_.comm();
}

// ---- AllReduce ----
const char* AllReduce::name() const {
  switch (reduce_) {
    case Reduce::sum: return "AllSum";
    case Reduce::max: return "AllMax";
    default: return "AllMin";
  }
}
bool AllReduce::is_equivalent(const Primitive& other) const {
  return GroupPrimitive::is_equivalent(other) &&
         static_cast<const AllReduce&>(other).reduce_ == reduce_;
}
// sum: d out = all_sum(t); max / min: d out = all_sum(t * [x == out])
array AllReduce::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                     const std::vector<int>&, const array& out) {
  if (reduce_ == Reduce::sum) return distributed::all_sum(tangents[0], g(group_));
  array mask = astype(equal(primals[0], out), tangents[0].dtype());
  return distributed::all_sum(multiply(tangents[0], mask), g(group_));
}
// sum: dx = c; max / min: dx = c * [x == out]. As in MLX, the loss is taken to be the same
// in every process (computed from the reduced value), so this process's input gets the
// cotangent as is, not the sum of every process's (which would count the loss size() times).
std::vector<array> AllReduce::vjp(const std::vector<array>& primals, const array& cotangent,
                                  const std::vector<int>&, const array& out) {
  if (reduce_ == Reduce::sum) return {cotangent};
  return {multiply(cotangent, astype(equal(primals[0], out), cotangent.dtype()))};
}
// elementwise: the batch axis stays where it is
std::pair<array, int> AllReduce::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  return {all_reduce(inputs[0], reduce_, g(group_)), *axes[0]};
}

// ---- AllGather ----
// d out = all_gather(t)
array AllGather::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                     const std::vector<int>&, const array&) {
  return distributed::all_gather(tangents[0], g(group_));
}
// dx = this member's rows of c
std::vector<array> AllGather::vjp(const std::vector<array>& primals, const array& cotangent,
                                  const std::vector<int>&, const array&) {
  const array& x = primals[0];
  const int64_t rows = x.ndim() == 0 ? 1 : x.shape(0);
  std::vector<int64_t> start(cotangent.ndim(), 0), step(cotangent.ndim(), 1);
  std::vector<int64_t> stop(cotangent.shape().begin(), cotangent.shape().end());
  start[0] = int64_t(group_.rank()) * rows;
  stop[0] = start[0] + rows;
  array mine = slice(cotangent, start, stop, step);
  return {x.ndim() == 0 ? reshape(mine, {}) : mine};
}
// gathering runs along axis 0, so the batch axis moves to 1 first
std::pair<array, int> AllGather::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  if (b != 0) return {distributed::all_gather(inputs[0], g(group_)), b};
  return {distributed::all_gather(batch_to_axis1(inputs[0], b), g(group_)), 1};
}

// ---- SumScatter ----
// d out = sum_scatter(t)
array SumScatter::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                      const std::vector<int>&, const array&) {
  return distributed::sum_scatter(tangents[0], g(group_));
}
// dx = all_gather(c)
std::vector<array> SumScatter::vjp(const std::vector<array>&, const array& cotangent,
                                   const std::vector<int>&, const array&) {
  return {distributed::all_gather(cotangent, g(group_))};
}
// scattering runs along axis 0, so the batch axis moves to 1 first
std::pair<array, int> SumScatter::vmap(const std::vector<array>& inputs,
                                       const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  if (b != 0) return {distributed::sum_scatter(inputs[0], g(group_)), b};
  return {distributed::sum_scatter(moveaxis(inputs[0], 0, 1), g(group_)), 1};
}

// ---- Send / Recv: messages, not differentiable ----
array Send::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                const array&) {
  throw std::invalid_argument("[send] Point-to-point messages have no gradient (jvp).");
}
std::vector<array> Send::vjp(const std::vector<array>&, const array&, const std::vector<int>&,
                             const array&) {
  throw std::invalid_argument(
      "[send] Point-to-point messages have no gradient; wrap the value in stop_gradient.");
}
// sends the whole batch; the receiver's recv must ask for the batched shape
std::pair<array, int> Send::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  return {distributed::send(inputs[0], dst_, g(group_)), *axes[0]};
}
array Recv::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                const array&) {
  throw std::invalid_argument("[recv] Point-to-point messages have no gradient (jvp).");
}
std::vector<array> Recv::vjp(const std::vector<array>&, const array&, const std::vector<int>&,
                             const array&) {
  throw std::invalid_argument("[recv] Point-to-point messages have no gradient.");
}
// Recv has no inputs, so vmap never meets it batched.
std::pair<array, int> Recv::vmap(const std::vector<array>&, const std::vector<BatchAxis>&) {
  throw std::invalid_argument("[recv] has no inputs to batch.");
}

// ---- export ----
void AllReduce::serialize(ExportFields& f) const {
  check_global(group_, name());
  f.add_int(int64_t(reduce_));
}
void AllGather::serialize(ExportFields&) const { check_global(group_, name()); }
void SumScatter::serialize(ExportFields&) const { check_global(group_, name()); }

namespace {
std::vector<array> load_all_reduce(ExportFields::Reader& f, const std::vector<array>& in,
                                   const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  return {all_reduce(in[0], Reduce(f.integer("reduce", 0, 2)), std::nullopt)};
}
std::vector<array> load_all_gather(ExportFields::Reader&, const std::vector<array>& in,
                                   const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  return {distributed::all_gather(in[0])};
}
std::vector<array> load_sum_scatter(ExportFields::Reader&, const std::vector<array>& in,
                                    const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  return {distributed::sum_scatter(in[0])};
}
const detail::RegisterLoaders kLoaders{{"AllSum", load_all_reduce},
                                       {"AllMax", load_all_reduce},
                                       {"AllMin", load_all_reduce},
                                       {"AllGather", load_all_gather},
                                       {"SumScatter", load_sum_scatter}};
}  // namespace

}  // namespace ember
