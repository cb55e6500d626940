# tests/distributed: included by tests/CMakeLists.txt. What one process can check is built
# always; the MPI tests run under mpirun with two ranks (--oversubscribe: CI has two cores and
# other work; --allow-run-as-root: CI runs as root) when ctdl is built with MPI (CTDL_MPI).
ctdl_add_test_suite(test_distributed distributed/test_mgrit.cpp distributed/test_ddp.cpp)

if(CTDL_HAVE_MPI)
  set(CTDL_MPIEXEC_FLAGS "--oversubscribe;--allow-run-as-root" CACHE STRING
      "Flags for mpirun in the MPI tests (Open MPI's)")
  add_executable(test_distributed_mpi distributed/mpi_main.cpp distributed/test_mpi.cpp)
  target_link_libraries(test_distributed_mpi PRIVATE ctdl Catch2::Catch2)
  target_include_directories(test_distributed_mpi PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(test_distributed_mpi PRIVATE ${CTDL_WARNINGS})
  target_compile_definitions(test_distributed_mpi PRIVATE CTDL_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
  # One CTest test per test case; a failing rank stops the other within 20 s, not the
  # default 300 (the watchdog), so a broken test fails instead of hanging.
  foreach(name
      "ddp: two ranks train like one process on the global batch"
      "ddp: fit_classifier under mpirun equals fit_classifier in one process"
      "sharding: the ranks see every example once per epoch"
      "mgrit: two ranks converge to serial propagation both ways round"
      "layer-parallel: gradients on two ranks equal serial backprop")
    add_test(NAME "mpi:${name}"
             COMMAND ${MPIEXEC_EXECUTABLE} ${CTDL_MPIEXEC_FLAGS} ${MPIEXEC_NUMPROC_FLAG} 2
                     $<TARGET_FILE:test_distributed_mpi> ${name})
    set_tests_properties("mpi:${name}" PROPERTIES TIMEOUT 120 PROCESSORS 2
                         ENVIRONMENT CTDL_DIST_TIMEOUT=20)
  endforeach()

  add_executable(distributed_failure distributed/failure.cpp)
  target_link_libraries(distributed_failure PRIVATE ctdl)
  target_compile_options(distributed_failure PRIVATE ${CTDL_WARNINGS})
  foreach(mode exit stall crash)
    add_test(NAME mpi:rank_failure_${mode}
             COMMAND ${CMAKE_COMMAND} -DMPIEXEC=${MPIEXEC_EXECUTABLE}
                     "-DMPIEXEC_FLAGS=${CTDL_MPIEXEC_FLAGS}" -DPROGRAM=$<TARGET_FILE:distributed_failure>
                     -DMODE=${mode} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/rank_failure_${mode}
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/distributed/failure.cmake)
    set_tests_properties(mpi:rank_failure_${mode} PROPERTIES TIMEOUT 120 PROCESSORS 2)
  endforeach()

  # The layer-parallel example end to end on two ranks.
  if(TARGET ctdl_command)
    add_test(NAME mpi:layer_parallel_example
             COMMAND ${MPIEXEC_EXECUTABLE} ${CTDL_MPIEXEC_FLAGS} ${MPIEXEC_NUMPROC_FLAG} 2
                     $<TARGET_FILE:ctdl_command> run layer-parallel --set steps=10
                     --set train_points=500 --set val_points=200 --set timing_repeats=1
                     --out ${CMAKE_CURRENT_BINARY_DIR}/layer_parallel)
    set_tests_properties(mpi:layer_parallel_example PROPERTIES TIMEOUT 300 PROCESSORS 2
                         ENVIRONMENT CTDL_DIST_TIMEOUT=60)
  endif()
endif()
