// The ember.core.distributed submodule (mlx.core.distributed's names and signatures): Group,
// init, is_available and the collective ops, each with `group=None` (the global group) and
// `stream=None`.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>

#include <string>

#include "bindings.h"
#include "convert.h"
#include "ember/distributed.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;
namespace dist = ember::distributed;

namespace {

using GroupArg = std::optional<dist::Group>;

constexpr const char* kGroupDoc =
    "    group: The group of processes (the global group, ``init()``, when None).\n"
    "    stream: The stream or device to run on.\n";

std::string doc(const char* head, const char* args, const char* returns) {
  return std::string(head) + "\n\nArgs:\n" + args + kGroupDoc + "\nReturns:\n    " + returns;
}

}  // namespace

void init_distributed(nb::module_& parent) {
  nb::module_ m = parent.def_submodule(
      "distributed",
      "Collective communication between processes (mlx.core.distributed). Start the processes "
      "with ``python -m ember.launch -n N script.py``; see docs/distributed.md.");
  static const std::string sum_doc = doc(
      "The elementwise sum of x over every process of the group.",
      "    x: The local array (the same shape and dtype in every process).\n",
      "The sum, the same in every process (x itself, copied, for a group of one).");
  static const std::string max_doc = doc(
      "The elementwise maximum of x over every process of the group.",
      "    x: The local array (the same shape and dtype in every process).\n",
      "The maximum, the same in every process. Its gradient reaches only the positions where "
      "x equals the result (MLX's passes the cotangent to every position: ember differs).");
  static const std::string min_doc = doc(
      "The elementwise minimum of x over every process of the group.",
      "    x: The local array (the same shape and dtype in every process).\n",
      "The minimum, the same in every process. Its gradient reaches only the positions where "
      "x equals the result (MLX's passes the cotangent to every position: ember differs).");
  static const std::string gather_doc = doc(
      "Every process's x concatenated along the first axis, in rank order.",
      "    x: The local array (the same shape and dtype in every process; a 0-d array counts "
      "as shape (1,)).\n",
      "An array whose first axis is size() times x's.");
  static const std::string scatter_doc = doc(
      "The sum of x over the group, of which rank r keeps the r-th of size() equal slices of "
      "the first axis.",
      "    x: The local array; its first dimension must be divisible by the group's size.\n",
      "This rank's slice of the sum.");
  static const std::string send_doc = doc(
      "Sends x to rank dst of the group.",
      "    x: The array to send.\n    dst: The rank that receives it (with recv or recv_like).\n",
      "x's value; evaluating it performs the send (so keep it in what you evaluate).");
  static const std::string recv_doc = doc(
      "Receives an array that rank src sends with send.",
      "    shape: Its shape.\n    dtype: Its dtype.\n    src: The rank that sends it.\n",
      "The received array.");
  static const std::string recv_like_doc = doc(
      "Receives an array shaped and typed like x from rank src.",
      "    x: An array with the shape and dtype to receive.\n    src: The rank that sends it.\n",
      "The received array.");

  nb::class_<dist::Group>(m, "Group",
                          "A group of processes that run collectives together (MLX's Group).")
      .def("rank", &dist::Group::rank, "This process's rank in the group, 0 .. size() - 1.")
      .def("size", &dist::Group::size, "The number of processes in the group.")
      .def("split", &dist::Group::split, "color"_a, "key"_a = -1,
           nb::call_guard<nb::gil_scoped_release>(),
           "Splits the group: the processes that pass the same color form a new group, ordered "
           "by key (this rank when key is negative). Every process of the group must call it.\n\n"
           "Args:\n    color: Which new group this process joins.\n"
           "    key: Its position among that group's members (ties keep the old order).\n\n"
           "Returns:\n    The new group.")
      .def("__repr__", [](const dist::Group& g) {
        return "Group(rank=" + std::to_string(g.rank()) + ", size=" + std::to_string(g.size()) +
               ")";
      });

  m.def("is_available", &dist::is_available, "backend"_a = "any",
        "Whether ember can use a distributed backend: \"any\" and \"ring\" (TCP) are built in; "
        "\"mpi\", \"nccl\" and \"jaccl\" are not. It does not try to form a group.");
  m.def("init",
        [](bool strict, const std::string& backend, nb::handle all_gather_factory) {
          if (!all_gather_factory.is_none()) {
            throw std::invalid_argument(
                "[init] all_gather_factory (an all_gather written in Python) is not supported "
                "by ember; leave it None and use the ring backend.");
          }
          nb::gil_scoped_release release;
          return dist::init(strict, backend);
        },
        "strict"_a = false, "backend"_a = "any", nb::kw_only(),
        "all_gather_factory"_a.none() = nb::none(),
        nb::sig("def init(strict: bool = False, backend: str = 'any', *, all_gather_factory: "
                "collections.abc.Callable[[int, int], collections.abc.Callable[[bytes, int], "
                "bytes]] | None = None) -> Group"),
        "The global group of processes. The first call forms it from the launch environment "
        "(MLX_RANK and MLX_HOSTFILE, which ``python -m ember.launch`` sets) and later calls "
        "return the same group.\n\n"
        "Args:\n    strict: Raise RuntimeError when no group can be formed, instead of returning "
        "a group of size 1.\n"
        "    backend: \"any\" or \"ring\" (the TCP ring); \"mpi\", \"nccl\" and \"jaccl\" are not "
        "built.\n"
        "    all_gather_factory: MLX's hook for an all_gather written in Python; ember has none "
        "(ValueError unless None).\n\nReturns:\n    The global group.");

  def_op(m, "all_sum", [](ArrayArg x, GroupArg g) { return dist::all_sum(to_array(x), g); },
         "x"_a, nb::kw_only(), "group"_a = nb::none(), sum_doc.c_str());
  def_op(m, "all_max", [](ArrayArg x, GroupArg g) { return dist::all_max(to_array(x), g); },
         "x"_a, nb::kw_only(), "group"_a = nb::none(), max_doc.c_str());
  def_op(m, "all_min", [](ArrayArg x, GroupArg g) { return dist::all_min(to_array(x), g); },
         "x"_a, nb::kw_only(), "group"_a = nb::none(), min_doc.c_str());
  def_op(m, "all_gather",
         [](ArrayArg x, GroupArg g) { return dist::all_gather(to_array(x), g); }, "x"_a,
         nb::kw_only(), "group"_a = nb::none(), gather_doc.c_str());
  def_op(m, "sum_scatter",
         [](ArrayArg x, GroupArg g) { return dist::sum_scatter(to_array(x), g); }, "x"_a,
         nb::kw_only(), "group"_a = nb::none(), scatter_doc.c_str());
  def_op(m, "send",
         [](ArrayArg x, int dst, GroupArg g) { return dist::send(to_array(x), dst, g); }, "x"_a,
         "dst"_a, nb::kw_only(), "group"_a = nb::none(), send_doc.c_str());
  def_op(m, "recv",
         [](ShapeArg shape, Dtype dtype, int src, GroupArg g) {
           return dist::recv(to_shape_arg(shape), dtype, src, g);
         },
         "shape"_a, "dtype"_a, "src"_a, nb::kw_only(), "group"_a = nb::none(), recv_doc.c_str());
  def_op(m, "recv_like",
         [](ArrayArg x, int src, GroupArg g) { return dist::recv_like(to_array(x), src, g); },
         "x"_a, "src"_a, nb::kw_only(), "group"_a = nb::none(), recv_like_doc.c_str());
}
