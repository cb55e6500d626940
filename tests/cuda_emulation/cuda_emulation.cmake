# test_cuda_emulated: the CUDA backend's kernels (backends/cuda/*.cu), compiled by g++ for the
# CPU and run on the CUDA suite's op database and runtime cases (README.md here). Needs no
# nvcc and no GPU; included from tests/CMakeLists.txt.
set(cuda_emulation_dir ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emulation)
set(cuda_emulation_gen ${CMAKE_CURRENT_BINARY_DIR}/cuda_emulation)
set(cuda_sources_dir ${CMAKE_SOURCE_DIR}/backends/cuda)
file(GLOB cuda_emulation_kernels CONFIGURE_DEPENDS ${cuda_sources_dir}/*.cu)
file(GLOB cuda_emulation_headers CONFIGURE_DEPENDS ${cuda_sources_dir}/*.cuh)
list(APPEND cuda_emulation_headers ${cuda_sources_dir}/runtime.h ${cuda_sources_dir}/cuda_backend.h)

set(cuda_emulation_outputs)
foreach(file ${cuda_emulation_kernels} ${cuda_emulation_headers})
  get_filename_component(name ${file} NAME)
  string(REGEX REPLACE "\\.cu$" ".cpp" name ${name})
  list(APPEND cuda_emulation_outputs ${cuda_emulation_gen}/ctdl/backends/cuda/${name})
endforeach()
set(cuda_emulation_sources ${cuda_emulation_outputs})
list(FILTER cuda_emulation_sources INCLUDE REGEX "\\.cpp$")

add_custom_command(
  OUTPUT ${cuda_emulation_outputs}
  COMMAND Python3::Interpreter ${cuda_emulation_dir}/rewrite_kernels.py
          ${cuda_emulation_gen}/ctdl/backends/cuda ${cuda_emulation_kernels} ${cuda_emulation_headers}
  DEPENDS ${cuda_emulation_dir}/rewrite_kernels.py ${cuda_emulation_kernels} ${cuda_emulation_headers}
  COMMENT "Rewriting the CUDA kernels' launches for the CPU")

add_library(ctdl_cuda_kernels_on_cpu STATIC ${cuda_emulation_sources}
  ${cuda_emulation_dir}/fibers.cpp ${cuda_emulation_dir}/emulated_runtime.cpp)
# The rewritten backend headers and the shim's cuda_runtime.h/cublas_v2.h before anything
# else, the CUDA toolkit's included.
target_include_directories(ctdl_cuda_kernels_on_cpu BEFORE PRIVATE
  ${cuda_emulation_gen} ${cuda_emulation_dir}/shim)
target_link_libraries(ctdl_cuda_kernels_on_cpu PRIVATE ctdl)
# -O1: the kernels' template instantiations compile in a fraction of -O3's time.
target_compile_options(ctdl_cuda_kernels_on_cpu PRIVATE ${CTDL_WARNINGS} -Wno-unknown-pragmas -O1)

ctdl_add_test_suite(test_cuda_emulated cuda/test_cuda_op_db.cpp cuda/test_cuda_runtime.cpp
  cuda/test_cuda_ode.cpp cuda/test_cuda_training.cpp cuda_emulation/test_kernel_paths.cpp
  tensor/reference.cpp tensor/op_db.cpp)
target_compile_definitions(test_cuda_emulated PRIVATE CTDL_CUDA_KERNELS_ON_CPU)
target_link_libraries(test_cuda_emulated PRIVATE ctdl_cuda_kernels_on_cpu)
