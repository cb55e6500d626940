# tests/distributed: included by tests/CMakeLists.txt. What one process can check is built
# always; the MPI tests run under mpirun with two ranks (--oversubscribe: CI has two cores and
# other work; --allow-run-as-root: CI runs as root) when ctdl is built with MPI (CTDL_MPI).
ctdl_add_test_suite(test_distributed distributed/test_mgrit.cpp distributed/test_ddp.cpp
  distributed/test_nccl.cpp)

if(CTDL_HAVE_MPI AND NOT MPIEXEC_EXECUTABLE)
  message(STATUS "ctdl: MPI found but no mpirun/mpiexec (openmpi-bin): the two-rank tests are "
                 "skipped")
endif()
if(CTDL_HAVE_MPI AND MPIEXEC_EXECUTABLE)
  # Open MPI refuses to start as root (CI's containers run as root) and to put more ranks on
  # a machine than it counts cores for unless told; MPICH needs neither flag, and refuses
  # both. The environment variables say the same as --allow-run-as-root, for an mpirun
  # given other flags through CTDL_MPIEXEC_FLAGS.
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE mpiexec_version
                  ERROR_VARIABLE mpiexec_version TIMEOUT 20)
  if(mpiexec_version MATCHES "Open MPI|OpenRTE")
    set(default_flags "--oversubscribe;--allow-run-as-root")
  else()
    set(default_flags "")
  endif()
  set(CTDL_MPIEXEC_FLAGS "${default_flags}" CACHE STRING "Flags for mpirun in the MPI tests")
  set(mpi_environment OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
  # Under the sanitizers Open MPI's own allocations, never freed at exit, fail every rank
  # through LeakSanitizer (they come from plugins it has unloaded, so no suppression can
  # name them). The code these tests run is leak-checked by the one-process suites above.
  if(CTDL_SANITIZE)
    list(APPEND mpi_environment ASAN_OPTIONS=detect_leaks=0)
  endif()
  add_executable(test_distributed_mpi distributed/mpi_main.cpp distributed/test_mpi.cpp
                                    distributed/test_nccl_mpi.cpp)
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
                         ENVIRONMENT "CTDL_DIST_TIMEOUT=20;${mpi_environment}")
  endforeach()
  # NCCL on two GPUs (one per rank). Where ctdl has no NCCL or the machine fewer GPUs than
  # ranks, every rank says "skipped: ..." and CTest reports the test as skipped. (--warn
  # NoTests: a name Catch2 does not match, a comma in it say, fails instead of passing.)
  foreach(name
      "nccl: all-reduce and broadcast and messages of device tensors"
      "nccl: DDP of a CUDA model trains like one process on the global batch")
    add_test(NAME "mpi:${name}"
             COMMAND ${MPIEXEC_EXECUTABLE} ${CTDL_MPIEXEC_FLAGS} ${MPIEXEC_NUMPROC_FLAG} 2
                     $<TARGET_FILE:test_distributed_mpi> --warn NoTests ${name})
    set_tests_properties("mpi:${name}" PROPERTIES TIMEOUT 120 PROCESSORS 2
                         ENVIRONMENT "CTDL_DIST_TIMEOUT=20;${mpi_environment}"
                         SKIP_REGULAR_EXPRESSION "skipped: ")
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
    set_tests_properties(mpi:rank_failure_${mode} PROPERTIES TIMEOUT 120 PROCESSORS 2
                         ENVIRONMENT "${mpi_environment}")
  endforeach()

  # The layer-parallel example end to end on two ranks, and what its summary.json says.
  if(TARGET ctdl_command)
    add_test(NAME mpi:layer_parallel_example
             COMMAND ${CMAKE_COMMAND} -DMPIEXEC=${MPIEXEC_EXECUTABLE}
                     "-DMPIEXEC_FLAGS=${CTDL_MPIEXEC_FLAGS}" -DPROGRAM=$<TARGET_FILE:ctdl_command>
                     -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/layer_parallel
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/distributed/layer_parallel_example.cmake)
    set_tests_properties(mpi:layer_parallel_example PROPERTIES TIMEOUT 300 PROCESSORS 2
                         ENVIRONMENT "${mpi_environment}")
  endif()
else()
  # Without MPI (or without mpirun) the two-rank tests cannot run: one test says so, and
  # CTest reports it as skipped instead of the tests silently missing.
  add_test(NAME mpi:two_rank_tests
           COMMAND ${CMAKE_COMMAND} -E echo
                   "skipped: ctdl was configured without MPI or without mpirun (CTDL_MPI=${CTDL_MPI}, MPI found: ${CTDL_HAVE_MPI}); install libopenmpi-dev and openmpi-bin and configure again to run the tests under mpirun -np 2")
  set_tests_properties(mpi:two_rank_tests PROPERTIES SKIP_REGULAR_EXPRESSION "^skipped: ")
endif()
