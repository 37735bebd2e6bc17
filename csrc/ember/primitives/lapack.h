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
  void serialize(ExportFields& fields) const override;

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
  void serialize(ExportFields& fields) const override;

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
  void serialize(ExportFields& fields) const override;

 private:
  bool upper_;
};

/// Pseudo-inverse of each matrix through its SVD (gesdd).
class EMBER_API PseudoInverse : public Primitive {
 public:
  const char* name() const override { return "PseudoInverse"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// Singular values of each matrix, descending (gesdd without vectors).
class EMBER_API SVDValues : public Primitive {
 public:
  const char* name() const override { return "SVDValues"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// Eigenvalues of each symmetric matrix, ascending, read from its lower or upper
/// triangle (syevd without vectors; its rules use Eigh's vectors).
class EMBER_API EigvalsH : public Primitive {
 public:
  explicit EigvalsH(bool upper) : upper_(upper) {}
  const char* name() const override { return "EigvalsH"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  bool upper_;
};

/// Eigenvalues of each general matrix, complex64 (geev without vectors). Not
/// differentiable here (its gradient needs the eigenvectors): jvp and vjp raise.
class EMBER_API Eigvals : public Primitive {
 public:
  const char* name() const override { return "Eigvals"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// Determinant of each square matrix (from getrf's LU factors).
class EMBER_API Determinant : public Primitive {
 public:
  const char* name() const override { return "Determinant"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

// ---- multi-output factorizations (siblings of one node, one LAPACK call) ----

/// (w, V): eigenvalues (ascending) and orthonormal eigenvectors (columns) of each
/// symmetric matrix, from its lower or upper triangle (syevd).
class EMBER_API Eigh : public Primitive {
 public:
  explicit Eigh(bool upper) : upper_(upper) {}
  const char* name() const override { return "Eigh"; }
  EMBER_MULTI_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  bool upper_;
};

/// (sign, log|det|) of each square matrix (getrf).
class EMBER_API SlogDet : public Primitive {
 public:
  const char* name() const override { return "SlogDet"; }
  EMBER_MULTI_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// (Q, R), the reduced QR factorization: Q (m, k) with orthonormal columns and R (k, n)
/// upper triangular, k = min(m, n) (geqrf + orgqr).
class EMBER_API QR : public Primitive {
 public:
  const char* name() const override { return "QR"; }
  EMBER_MULTI_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// (U, S, Vt), the full SVD: U (m, m), S (k,) descending, Vt (n, n) (gesdd).
class EMBER_API SVD : public Primitive {
 public:
  const char* name() const override { return "SVD"; }
  EMBER_MULTI_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// (w, V) of a general square matrix, complex64, eigenvectors of unit norm (geev).
class EMBER_API Eig : public Primitive {
 public:
  const char* name() const override { return "Eig"; }
  EMBER_MULTI_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// (LU, pivots, perm) of each square matrix (getrf with partial pivoting): L below
/// the diagonal of LU (unit diagonal implied) and U on and above it; pivots[i]
/// (uint32, 0-based) is the row swapped with row i; perm the row order mlx gives,
/// a = (L @ U)[perm] (equivalently L[perm] @ U).
class EMBER_API LUFactor : public Primitive {
 public:
  const char* name() const override { return "LUFactor"; }
  EMBER_MULTI_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

}  // namespace ember
