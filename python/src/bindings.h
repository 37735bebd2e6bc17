// One init function per binding file; module.cpp calls them in order.
#pragma once

#include <nanobind/nanobind.h>

namespace nb = nanobind;

void init_dtype(nb::module_& m);
void init_array(nb::module_& m);
void init_ops_creation(nb::module_& m);
void init_ops_unary(nb::module_& m);
void init_ops_binary(nb::module_& m);
void init_ops_reduce(nb::module_& m);
void init_ops_shape(nb::module_& m);
void init_ops_index(nb::module_& m);
void init_ops_linalg(nb::module_& m);
void init_random(nb::module_& m);
void init_linalg(nb::module_& m);
void init_fft(nb::module_& m);
void init_transforms(nb::module_& m);
void init_memory(nb::module_& m);
