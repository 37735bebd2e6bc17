// Primitives of mlx.core.linalg that run LAPACK (kernels in backend/cpu/lapack.cpp).
// Each works on the last two axes of its input and maps the leading ones, so
// every vmap rule moves the batch axis to the front and calls the op again.
#pragma once

#include <string>

#include "ember/primitives/primitive.h"

namespace ember {

/// What an Inverse computes: a general inverse, or that of the lower / upper triangle.
enum class InverseKind { general, lower, upper };

/// Inverse of each square matrix (getrf + getri, or trtri for triangles).
class EMBER_API Inverse : public Primitive {
 public:
  explicit Inverse(InverseKind kind) : kind_(kind) {}
  const char* name() const override { return "Inverse"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;

 private:
  InverseKind kind_;
};

/// x with a @ x = b: inputs {a (..., n, n), b (..., n, k)}, batch axes equal.
/// triangular solves use only one triangle of a (trtrs), else getrf + getrs.
class EMBER_API Solve : public Primitive {
 public:
  explicit Solve(InverseKind kind) : kind_(kind) {}
  const char* name() const override { return "Solve"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;

 private:
  InverseKind kind_;
};

/// The Cholesky factor (lower, or upper when upper_) of each matrix (potrf).
class EMBER_API Cholesky : public Primitive {
 public:
  explicit Cholesky(bool upper) : upper_(upper) {}
  const char* name() const override { return "Cholesky"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;

 private:
  bool upper_;
};

/// Pseudo-inverse of each matrix through its SVD (gesdd).
class EMBER_API PseudoInverse : public Primitive {
 public:
  const char* name() const override { return "PseudoInverse"; }
  EMBER_PRIMITIVE_RULES
};

/// Singular values of each matrix, descending (gesdd without vectors).
class EMBER_API SVDValues : public Primitive {
 public:
  const char* name() const override { return "SVDValues"; }
  EMBER_PRIMITIVE_RULES
};

/// Eigenvalues (vectors_ = false) or eigenvectors of each symmetric matrix (syevd),
/// read from its lower or upper triangle. Two single-output primitives over one
/// LAPACK routine: the derivative rules of each need the other.
class EMBER_API EighPart : public Primitive {
 public:
  EighPart(bool vectors, bool upper) : vectors_(vectors), upper_(upper) {}
  const char* name() const override { return vectors_ ? "EigvecsH" : "EigvalsH"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;

 private:
  bool vectors_, upper_;
};

/// Eigenvalues of each general matrix, complex64 (geev without vectors). Not
/// differentiable here (its gradient needs the eigenvectors): jvp and vjp raise.
class EMBER_API Eigvals : public Primitive {
 public:
  const char* name() const override { return "Eigvals"; }
  EMBER_PRIMITIVE_RULES
};

/// Determinant of each square matrix (from getrf's LU factors).
class EMBER_API Determinant : public Primitive {
 public:
  const char* name() const override { return "Determinant"; }
  EMBER_PRIMITIVE_RULES
};

}  // namespace ember
