// The public op surface, numpy / mlx.core-like. Each family's declarations
// live in ops/<family>.h (one /// line per op); this header gathers them.
// Every op checks its arguments when called and throws std::invalid_argument
// (ValueError), std::out_of_range (IndexError) or ember::type_error
// (TypeError) with a message that starts with "[op]".
#pragma once

#include "ember/ops/creation.h"
#include "ember/ops/unary.h"
#include "ember/ops/binary.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/index.h"
#include "ember/ops/linalg.h"
#include "ember/ops/conv.h"
#include "ember/ops/lapack.h"
#include "ember/ops/fft.h"
#include "ember/ops/fast.h"
#include "ember/ops/random.h"
#include "ember/ops/quantized.h"
