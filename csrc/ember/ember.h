// ember's umbrella header: everything a C++ user needs, nothing else.
#pragma once

#include "ember/version.h"
#include "ember/array.h"
#include "ember/dtype.h"
#include "ember/ops.h"
#include "ember/transforms.h"
#include "ember/io/io.h"
#include "ember/export.h"
#include "ember/distributed.h"
#include "ember/transforms/compile.h"
#include "ember/backend/cpu/threadpool.h"
