// Bindings of the reduce family (TODO(#2): fill in).
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;

void init_ops_reduce(nb::module_& m) {}
