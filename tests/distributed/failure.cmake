# A rank that exits early, stalls or crashes makes the other stop with a clear error within
# the timeout, and the last checkpoint stays intact. Run by CTest as
#   cmake -DMPIEXEC=... -DMPIEXEC_FLAGS=... -DPROGRAM=distributed_failure -DMODE=exit
#         -DWORK_DIR=... -P failure.cmake
file(REMOVE_RECURSE ${WORK_DIR})
# The watchdog waits CTDL_DIST_TIMEOUT seconds; the execute_process limit is only a guard
# against the hang this test exists to rule out.
set(ENV{CTDL_DIST_TIMEOUT} 3)
execute_process(
  COMMAND ${MPIEXEC} ${MPIEXEC_FLAGS} -np 2 ${PROGRAM} ${MODE} ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 90)
set(all "${out}${err}")
message(STATUS "mpirun exit status: ${rc}\n${all}")
if(rc STREQUAL "0" OR rc MATCHES "timeout")
  message(FATAL_ERROR "expected a failure (non-zero exit status), got '${rc}'")
endif()
if(MODE STREQUAL "crash")
  # mpirun itself notices the dead process and ends the job.
  set(pattern "rank 1|exited on signal|non-zero status")
else()
  set(pattern "rank 0 of 2: no answer after 3 s while waiting for the all-reduce of gradient bucket")
endif()
if(NOT all MATCHES "${pattern}")
  message(FATAL_ERROR "the output does not say what happened (expected '${pattern}')")
endif()
if(NOT all MATCHES "step 2 done")
  message(FATAL_ERROR "the run did not get to step 2 before the failure")
endif()
# The checkpoint of the last completed step loads.
execute_process(COMMAND ${PROGRAM} check ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0 OR NOT out MATCHES "checkpoint of step [2-6] loads")
  message(FATAL_ERROR "the checkpoint does not load after the failure: ${rc}\n${out}${err}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
