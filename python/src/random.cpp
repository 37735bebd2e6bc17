// Bindings of ember.core.random (TODO(#2): fill in).
#include "bindings.h"
#include "convert.h"

void init_random(nb::module_& m) { m.def_submodule("random", "Random number generation."); }
