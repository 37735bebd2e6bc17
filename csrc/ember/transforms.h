// Function transforms over functions of std::vector<array>: vjp, jvp, vmap,
// grad and value_and_grad. They nest: each rule is written with ops, so the
// graph a transform builds can be transformed again.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/array.h"

namespace ember {

using ArrayFn = std::function<std::vector<array>(const std::vector<array>&)>;

/// Reverse mode: returns (fun(primals), cotangents for each primal).
/// `op` names the transform the user called, for error messages.
EMBER_API std::pair<std::vector<array>, std::vector<array>> vjp(
    const ArrayFn& fun, const std::vector<array>& primals, const std::vector<array>& cotangents,
    const char* op = "vjp");

/// Forward mode: returns (fun(primals), output tangents).
EMBER_API std::pair<std::vector<array>, std::vector<array>> jvp(
    const ArrayFn& fun, const std::vector<array>& primals, const std::vector<array>& tangents,
    const char* op = "jvp");

/// Vectorizes fun over the in_axes of its inputs (nullopt: not mapped);
/// outputs get their batch axis at out_axes (nullopt: returned unbatched,
/// which is an error if the output depends on the batch).
EMBER_API ArrayFn vmap(ArrayFn fun, std::vector<std::optional<int>> in_axes,
                       std::vector<std::optional<int>> out_axes);

/// fun must return one scalar (its first output is used; the rest are
/// auxiliary and returned as values). Returns (values, gradients of argnums).
using ValueAndGradFn =
    std::function<std::pair<std::vector<array>, std::vector<array>>(const std::vector<array>&)>;
EMBER_API ValueAndGradFn value_and_grad(ArrayFn fun, std::vector<int> argnums = {0});
EMBER_API std::function<std::vector<array>(const std::vector<array>&)> grad(
    ArrayFn fun, std::vector<int> argnums = {0});

/// Custom rules for a function (mlx's custom_function). Each is optional:
/// without a vjp (jvp, vmap) rule, that transform goes through fun's own graph.
/// vjp gets (primals, output cotangents, outputs) and returns one cotangent per
/// primal; jvp gets (primals, tangents) and returns one tangent per output; vmap
/// gets (inputs, axes) and returns (outputs, output batch axes).
using CustomVjpFn = std::function<std::vector<array>(
    const std::vector<array>&, const std::vector<array>&, const std::vector<array>&)>;
using CustomJvpFn =
    std::function<std::vector<array>(const std::vector<array>&, const std::vector<array>&)>;
using CustomVmapFn = std::function<std::pair<std::vector<array>, std::vector<int>>(
    const std::vector<array>&, const std::vector<std::optional<int>>&)>;
EMBER_API ArrayFn custom_function(ArrayFn fun, CustomVjpFn vjp = nullptr, CustomJvpFn jvp = nullptr,
                                  CustomVmapFn vmap = nullptr);

/// Rematerialization: the backward pass recomputes fun's forward instead of
/// keeping its intermediates alive, trading compute for memory.
EMBER_API ArrayFn checkpoint(ArrayFn fun);

}  // namespace ember
