# The CUDA backend's toolchain: sets CTDL_HAVE_CUDA and, when on, enables the CUDA language
# for Hopper (sm_90 machine code plus PTX, which newer GPUs compile at load time).
# AddressSanitizer's shadow memory and the CUDA driver's address reservations do not mix
# (the driver fails to initialize unless ASAN_OPTIONS=protect_shadow_gap=0): sanitizer
# builds leave CUDA out unless asked for it.
if(CTDL_SANITIZE AND CTDL_CUDA STREQUAL "AUTO")
  set(CTDL_HAVE_CUDA OFF)
elseif(CTDL_CUDA STREQUAL "AUTO" OR CTDL_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)  # "90" = 90-real (SASS) + 90-virtual (PTX)
    endif()
    set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER} CACHE FILEPATH "nvcc's host compiler")
    # ctdl links the shared runtime itself (CUDA::cudart): without this, CMake would add the
    # static runtime to every program linking ctdl, from a folder g++ does not search.
    set(CMAKE_CUDA_RUNTIME_LIBRARY None)
    enable_language(CUDA)
    # CUDA sources take the C++ standard of their target (C++20 here); CMake 3.25 knows
    # nvcc's flags only up to C++17, so it is told the C++20 one.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    find_package(CUDAToolkit REQUIRED)
    set(CTDL_HAVE_CUDA ON)
  elseif(CTDL_CUDA STREQUAL "AUTO")
    set(CTDL_HAVE_CUDA OFF)
  else()
    message(FATAL_ERROR "CTDL_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
else()
  set(CTDL_HAVE_CUDA OFF)
endif()
message(STATUS "ctdl: CUDA backend ${CTDL_HAVE_CUDA}")
