// The collective ops of ember::distributed: argument checks against the group (ranks, shapes
// that must divide), then the lazy node. group = nullopt means the global group (init()).
#include "ember/distributed.h"

#include "ember/errors.h"
#include "ember/primitives/distributed.h"

namespace ember::distributed {

using detail::Reduce;

namespace {

Group group_or_global(const std::optional<Group>& group) { return group ? *group : init(); }

array all_reduce(const char* op, const array& x, const std::optional<Group>& group, Reduce r) {
  if (r != Reduce::sum && x.dtype() == Dtype::complex64) {
    throw type_error(msg("[", op, "] complex64 values have no order; got a complex64 array."));
  }
  return make_node<AllReduce>(x.shape(), x.dtype(), {x}, group_or_global(group), r);
}

// A peer rank for send / recv: another member of a group of at least two.
void check_peer(const char* op, const char* what, int peer, const Group& g) {
  if (g.size() == 1) {
    const char* verb = std::string(op) == "send" ? "send to" : "receive from";
    throw std::invalid_argument(msg("[", op, "] The group has a single process, so there is no "
                                    "other rank to ", verb,
                                    ". Start several processes (python -m ember.launch)."));
  }
  if (peer < 0 || peer >= g.size()) {
    throw std::invalid_argument(msg("[", op, "] ", what, "=", peer,
                                    " is not a rank of this group of size ", g.size(), "."));
  }
  if (peer == g.rank()) {
    throw std::invalid_argument(msg("[", op, "] ", what, "=", peer,
                                    " is this process's own rank."));
  }
}

}  // namespace

array all_sum(const array& x, std::optional<Group> group) {
  return all_reduce("all_sum", x, group, Reduce::sum);
}
array all_max(const array& x, std::optional<Group> group) {
  return all_reduce("all_max", x, group, Reduce::max);
}
array all_min(const array& x, std::optional<Group> group) {
  return all_reduce("all_min", x, group, Reduce::min);
}

array all_gather(const array& x, std::optional<Group> group) {
  Group g = group_or_global(group);
  Shape shape = x.shape();
  if (shape.empty()) {
    shape.push_back(g.size());
  } else {
    shape[0] *= g.size();
  }
  return make_node<AllGather>(std::move(shape), x.dtype(), {x}, g);
}

array sum_scatter(const array& x, std::optional<Group> group) {
  Group g = group_or_global(group);
  if (x.ndim() == 0) {
    throw std::invalid_argument(
        "[sum_scatter] The input must have at least one dimension (it is split along axis 0), "
        "got a 0-d array.");
  }
  if (x.shape(0) % g.size() != 0) {
    throw std::invalid_argument(msg("[sum_scatter] The first dimension of the input (shape ",
                                    x.shape(), ") must be divisible by the group size (",
                                    g.size(), ")."));
  }
  if (x.dtype() == Dtype::bool_) {
    throw type_error("[sum_scatter] bool arrays cannot be summed; cast them first.");
  }
  Shape shape = x.shape();
  shape[0] /= g.size();
  return make_node<SumScatter>(std::move(shape), x.dtype(), {x}, g);
}

array send(const array& x, int dst, std::optional<Group> group) {
  Group g = group_or_global(group);
  check_peer("send", "dst", dst, g);
  return make_node<Send>(x.shape(), x.dtype(), {x}, g, dst);
}

array recv(Shape shape, Dtype dtype, int src, std::optional<Group> group) {
  Group g = group_or_global(group);
  for (auto d : shape) {
    if (d < 0) {
      throw std::invalid_argument(msg("[recv] Negative dimension in shape ", shape, "."));
    }
  }
  check_peer("recv", "src", src, g);
  return make_node<Recv>(std::move(shape), dtype, {}, g, src);
}

array recv_like(const array& x, int src, std::optional<Group> group) {
  Group g = group_or_global(group);
  check_peer("recv_like", "src", src, g);
  return make_node<Recv>(x.shape(), x.dtype(), {}, g, src);
}

}  // namespace ember::distributed
