# `ctdl run layer-parallel` on two ranks, small, and what its summary.json must say: two
# ranks, the MGRIT residual falling every iteration to the tolerance, the MGRIT result equal
# to serial propagation, and the layer-parallel network trained to the serial one's accuracy.
# With one coarse interval per rank (coarsening 128 of 256 layers) two MGRIT iterations are
# exact, so the layer-parallel gradients are backprop's and the accuracies must agree. Then
# the example's --quick defaults (coarsening 16, one MGRIT iteration per forward, repeated
# where its residual is large, and per backward: the paper's inexact gradients; 200 steps
# of SGD with a decaying learning rate) must train to within 3 points of the serial
# accuracy (examples/layer_parallel/README.md).
# Run by CTest as
#   cmake -DMPIEXEC=... -DMPIEXEC_FLAGS=... -DPROGRAM=ctdl -DWORK_DIR=... -P layer_parallel_example.cmake
file(REMOVE_RECURSE ${WORK_DIR})
set(ENV{CTDL_DIST_TIMEOUT} 60)
set(ENV{CTDL_NUM_THREADS} 1)
execute_process(
  COMMAND ${MPIEXEC} ${MPIEXEC_FLAGS} -np 2 ${PROGRAM} run layer-parallel --set steps=10
          --set coarsening=128 --set forward_iterations=2 --set backward_iterations=2
          --set train_points=500 --set val_points=200 --set timing_repeats=1 --out ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpirun exit status: ${rc}\n${out}${err}")
endif()
if(NOT EXISTS ${WORK_DIR}/summary.json)
  message(FATAL_ERROR "no summary.json in ${WORK_DIR}\n${out}${err}")
endif()
file(READ ${WORK_DIR}/summary.json summary)

function(metric name out)
  string(JSON value ERROR_VARIABLE error GET "${summary}" metrics ${name})
  if(error)
    message(FATAL_ERROR "summary.json: metrics.${name}: ${error}")
  endif()
  set(${out} ${value} PARENT_SCOPE)
endfunction()

metric(ranks ranks)
if(NOT ranks EQUAL 2)
  message(FATAL_ERROR "metrics.ranks is ${ranks}, expected 2")
endif()
# if(... LESS ...) compares numbers as doubles, scientific notation included.
metric(forward_rel_difference difference)
if(NOT difference LESS 1e-8)
  message(FATAL_ERROR "MGRIT's forward differs from serial propagation by ${difference} (relative)")
endif()

string(JSON count LENGTH "${summary}" metrics residual_history)
if(count LESS 2)
  message(FATAL_ERROR "residual_history has ${count} entries, expected an iteration or more")
endif()
math(EXPR last "${count} - 1")
string(JSON final GET "${summary}" metrics residual_history ${last})
if(NOT final LESS_EQUAL 1e-9)
  message(FATAL_ERROR "the last MGRIT residual is ${final}, above the tolerance 1e-9")
endif()
string(JSON previous GET "${summary}" metrics residual_history 0)
foreach(i RANGE 1 ${last})
  string(JSON r GET "${summary}" metrics residual_history ${i})
  if(NOT r LESS previous)
    message(FATAL_ERROR "the MGRIT residual did not fall at iteration ${i}: ${previous} -> ${r}")
  endif()
  set(previous ${r})
endforeach()

# CMake's arithmetic is on integers: the accuracies in thousandths.
function(permille value out)
  if(NOT value MATCHES "^([01])(\\.([0-9]*))?$")
    message(FATAL_ERROR "an accuracy of ${value}?")
  endif()
  string(SUBSTRING "${CMAKE_MATCH_3}000" 0 3 fraction)
  math(EXPR v "${CMAKE_MATCH_1} * 1000 + 1${fraction} - 1000")
  set(${out} ${v} PARENT_SCOPE)
endfunction()
# Fails unless the layer-parallel accuracy is within `permille` thousandths of the serial one.
function(accuracies_agree permille why)
  metric(serial_val_accuracy serial)
  metric(parallel_val_accuracy parallel)
  permille(${serial} s)
  permille(${parallel} p)
  math(EXPR gap "${s} - ${p}")
  if(gap GREATER ${permille} OR gap LESS -${permille})
    message(FATAL_ERROR "validation accuracy: serial ${serial}, layer-parallel ${parallel}: ${why}")
  endif()
  message(STATUS "layer-parallel: accuracy serial ${serial}, layer-parallel ${parallel}")
endfunction()
accuracies_agree(5 "exact layer-parallel gradients should train the same network")
message(STATUS "layer-parallel: ${count} residuals down to ${final}")

# The --quick defaults, inexact gradients: 200 steps on 2,000 points.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(
  COMMAND ${MPIEXEC} ${MPIEXEC_FLAGS} -np 2 ${PROGRAM} run layer-parallel --quick
          --set timing_repeats=1 --out ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
if(NOT rc EQUAL 0 OR NOT EXISTS ${WORK_DIR}/summary.json)
  message(FATAL_ERROR "mpirun --quick: exit status ${rc}\n${out}${err}")
endif()
file(READ ${WORK_DIR}/summary.json summary)
accuracies_agree(30 "the default inexact gradients should train to the serial accuracy")
file(REMOVE_RECURSE ${WORK_DIR})
