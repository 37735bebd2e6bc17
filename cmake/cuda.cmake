# The CUDA backend's build (EMBER_CUDA=ON): finds nvcc and the CUDA libraries, from a system
# CUDA toolkit or from NVIDIA's PyPI wheels (nvidia-cuda-nvcc, nvidia-cuda-runtime,
# nvidia-cublas, found through the Python that configures), and sets the flags and target
# architectures of backend/cuda/*.cu.
#   EMBER_CUDA_ARCHITECTURES   GPU architectures to build for (default: 75 to 120, plus PTX
#                              of the newest for later GPUs); one, e.g. 90, builds fastest.
set(EMBER_CUDA_ARCHITECTURES "75;80;86;89;90;100;120-real;120-virtual" CACHE STRING
    "CUDA architectures of the CUDA backend (CMAKE_CUDA_ARCHITECTURES syntax)")

# NVIDIA's wheels put the toolkit under site-packages/nvidia/cu13/{bin,include,lib}: the
# Python that configures may have them (nvcc, and cuBLAS, which a system CUDA may lack).
find_package(Python COMPONENTS Interpreter)
set(_cu_wheel "")
if(Python_EXECUTABLE)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -c
            "import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], 'cu13'))"
    OUTPUT_VARIABLE _cu_root OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc ERROR_QUIET)
  if(_rc EQUAL 0 AND EXISTS "${_cu_root}")
    set(_cu_wheel "${_cu_root}")
  endif()
endif()
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(_nvcc nvcc)
  if(NOT _nvcc)
    if(_cu_wheel AND EXISTS "${_cu_wheel}/bin/nvcc")
      set(CMAKE_CUDA_COMPILER "${_cu_wheel}/bin/nvcc" CACHE FILEPATH "nvcc" FORCE)
      set(CUDAToolkit_ROOT "${_cu_wheel}" CACHE PATH "CUDA toolkit (PyPI wheels)" FORCE)
    else()
      message(FATAL_ERROR "EMBER_CUDA=ON needs nvcc: install a CUDA toolkit, or `pip install "
                          "nvidia-cuda-nvcc nvidia-cuda-runtime nvidia-cublas` into the Python "
                          "that configures, or pass -DCMAKE_CUDA_COMPILER=/path/to/nvcc.")
    endif()
  endif()
endif()
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${EMBER_CUDA_ARCHITECTURES})
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "ember: CUDA ${CUDAToolkit_VERSION}, nvcc ${CMAKE_CUDA_COMPILER}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES}")

# cuBLASLt: the wheels ship libcublasLt.so.13 only (no unversioned link), so look for both.
if(TARGET CUDA::cublasLt)
  set(_cublaslt CUDA::cublasLt)
else()
  find_library(_cublaslt NAMES cublasLt libcublasLt.so.13 libcublasLt.so.12
               HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_ROOT}/lib ${_cu_wheel}/lib)
  if(NOT _cublaslt)
    message(FATAL_ERROR "EMBER_CUDA=ON needs cuBLASLt: `pip install nvidia-cublas` into the "
                        "Python that configures, or a CUDA toolkit with cuBLAS.")
  endif()
endif()
# cublasLt.h: the toolkit's, or the wheel's when the toolkit has none.
set(_cuda_extra_includes "")
if(NOT EXISTS "${CUDAToolkit_INCLUDE_DIRS}/cublasLt.h" AND _cu_wheel)
  set(_cuda_extra_includes "${_cu_wheel}/include")
endif()
if(EXISTS "${CUDAToolkit_LIBRARY_DIR}/libcudart_static.a" OR TARGET CUDA::cudart_static)
  set(_cudart CUDA::cudart_static)
else()
  set(_cudart CUDA::cudart)
endif()

function(ember_cuda_target target)
  set_target_properties(${target} PROPERTIES
    CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON CUDA_SEPARABLE_COMPILATION OFF
    CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-fvisibility=hidden
                               -Xcompiler=-fno-math-errno -Wno-deprecated-gpu-targets
                               $<$<CONFIG:Release>:-O3>>)
  # cudart is linked statically (no run-time dependency on it); cuBLASLt is found at run time
  # next to ember in site-packages (the nvidia-cublas wheel), or in the system's CUDA.
  target_link_libraries(${target} PRIVATE ${_cudart} ${_cublaslt} ${CMAKE_DL_LIBS})
  target_include_directories(${target} PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
  if(_cuda_extra_includes)
    # After the toolkit's own headers (AFTER), so only what it lacks comes from the wheel.
    target_include_directories(${target} AFTER PRIVATE ${_cuda_extra_includes})
  endif()
  get_target_property(_rpath ${target} INSTALL_RPATH)
  if(NOT _rpath)
    set(_rpath "")
  endif()
  list(APPEND _rpath "$ORIGIN/../../nvidia/cu13/lib" "$ORIGIN/../../nvidia/cublas/lib")
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "${_rpath}")
endfunction()
