// The compiled module ember.core (`import ember.core as mx`).
#include "bindings.h"

#include "ember/array.h"
#include "ember/errors.h"
#include "ember/version.h"

NB_MODULE(core, m) {
  m.doc() = "ember.core: lazy arrays, numpy-like ops and composable function transforms.";
  m.attr("__version__") = EMBER_VERSION;
  // ember::type_error derives from std::invalid_argument (ValueError); it must
  // surface as TypeError, so it gets its own translator.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const ember::type_error& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
  // A wait for work on another thread releases the interpreter lock if this thread holds
  // it (C++ called with the lock held may evaluate): the thread waited for may need the
  // lock to drop a Python rule of a node it has computed.
  ember::detail::set_blocking_hook([](void (*wait)(void*), void* ctx) {
    if (Py_IsInitialized() && PyGILState_Check()) {
      nb::gil_scoped_release release;
      wait(ctx);
    } else {
      wait(ctx);
    }
  });
  init_device(m);  // first: every op binding takes a stream= of these types
  init_dtype(m);
  init_array(m);
  init_ops_creation(m);
  init_ops_unary(m);
  init_ops_binary(m);
  init_ops_reduce(m);
  init_ops_shape(m);
  init_ops_index(m);
  init_ops_linalg(m);
  init_ops_quantized(m);
  init_ops_conv(m);
  init_random(m);
  init_linalg(m);
  init_fft(m);
  init_distributed(m);
  init_fast(m);
  init_transforms(m);
  init_memory(m);
  init_io(m);
  init_export(m);
  init_dlpack(m);
}
