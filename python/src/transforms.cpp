// Bindings of the function transforms (TODO(#3): fill in).
#include "bindings.h"
#include "convert.h"

void init_transforms(nb::module_& m) {}
