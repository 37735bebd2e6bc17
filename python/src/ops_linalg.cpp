// Bindings of the linalg family (TODO(#2): fill in).
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;

void init_ops_linalg(nb::module_& m) {}
