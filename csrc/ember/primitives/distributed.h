// The collective primitives of ember::distributed: each holds its group and runs its
// communication in its kernel (backend/cpu/distributed.cpp; on a GPU stream the default
// host fallback runs the same kernel). Over a group of size 1 the kernels copy.
#pragma once

#include "ember/distributed.h"
#include "ember/distributed/comm.h"
#include "ember/primitives/primitive.h"

namespace ember {

/// A primitive that runs over a group: equivalent to another of its kind only over the same
/// connections.
class EMBER_API GroupPrimitive : public Primitive {
 public:
  explicit GroupPrimitive(distributed::Group group) : group_(std::move(group)) {}
  bool is_equivalent(const Primitive& other) const override;

 protected:
  distributed::Group group_;
};

/// The elementwise sum / max / min of the input over the group's members. The jvp is the
/// all_sum of the tangent (max, min: of the tangent where the input equals the result). The
/// vjp follows MLX's convention that the loss is the same in every member: the cotangent
/// passes through as is (max, min: where the input equals the result).
class EMBER_API AllReduce : public GroupPrimitive {
 public:
  AllReduce(distributed::Group group, distributed::detail::Reduce reduce)
      : GroupPrimitive(std::move(group)), reduce_(reduce) {}
  const char* name() const override;
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  distributed::detail::Reduce reduce_;
};

/// The members' inputs concatenated along axis 0 (a 0-d input counts as shape (1,)). Its
/// vjp is this member's rows of the cotangent, as MLX's.
class EMBER_API AllGather : public GroupPrimitive {
 public:
  using GroupPrimitive::GroupPrimitive;
  const char* name() const override { return "AllGather"; }
  EMBER_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// The sum over the members, of which member r keeps rows [r * m, (r + 1) * m) of axis 0
/// (m = rows / size). Its vjp is all_gather of the cotangent, as MLX's.
class EMBER_API SumScatter : public GroupPrimitive {
 public:
  using GroupPrimitive::GroupPrimitive;
  const char* name() const override { return "SumScatter"; }
  EMBER_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// Sends its input to rank dst_; the output is the input's value (evaluating it sends).
/// Point-to-point messages have no gradient: jvp and vjp raise. Never merged with another
/// Send (each one is a message the receiver counts on).
class EMBER_API Send : public GroupPrimitive {
 public:
  Send(distributed::Group group, int dst) : GroupPrimitive(std::move(group)), dst_(dst) {}
  const char* name() const override { return "Send"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive&) const override { return false; }

 private:
  int dst_;
};

/// Receives an array from rank src_ (no inputs). No gradient; never merged with another Recv.
class EMBER_API Recv : public GroupPrimitive {
 public:
  Recv(distributed::Group group, int src) : GroupPrimitive(std::move(group)), src_(src) {}
  const char* name() const override { return "Recv"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive&) const override { return false; }

 private:
  int src_;
};

}  // namespace ember
