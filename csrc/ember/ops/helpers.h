// Small internal helpers the op families share (not part of the public API).
#pragma once

#include "ember/array.h"
#include "ember/errors.h"

namespace ember::detail {

/// A 0-d array of value in like's dtype; multiplies / adds broadcast it for free.
EMBER_API array scalar_like(double value, const array& like);
/// A 0-d array of value in dtype.
EMBER_API array scalar(double value, Dtype dtype);

/// Throws ember::type_error unless a has an inexact (float/complex) dtype.
void require_inexact(const char* op, const array& a);

}  // namespace ember::detail
