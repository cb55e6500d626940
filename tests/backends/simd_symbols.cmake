# Checks that the files compiled with AVX2 or AVX-512 flags share no code with the rest of
# the program. An inline function they define (a weak symbol) is kept once by the linker,
# maybe in its AVX-512 build, and would then crash a processor without AVX-512 wherever
# it is called. Their own kernels are templates on the instruction set, so their names
# say which; anything else defined weak is a leak.
#
#   cmake -DNM=nm -DOBJECTS="a.o;b.o" -P simd_symbols.cmake
set(leaks "")
set(checked 0)
foreach(object IN LISTS OBJECTS)
  if(NOT object MATCHES "_(avx2|avx512)\\.cpp\\.o$")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND ${NM} -C --defined-only ${object} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "simd_symbols: ${NM} failed on ${object}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  foreach(line IN LISTS lines)
    # "<address> <type> <name>": weak (W, V) definitions only; data (u) is not code.
    if(NOT line MATCHES "^[0-9a-f]+ [WV] (.*)$")
      continue()
    endif()
    set(name "${CMAKE_MATCH_1}")
    if(name MATCHES "avx512bw|fma3<xsimd::avx2>|ctdl_avx(2|512)_" OR name STREQUAL "DW.ref.__gxx_personality_v0")
      continue()
    endif()
    list(APPEND leaks "${object}: ${name}")
  endforeach()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "simd_symbols: no *_avx2.cpp.o or *_avx512.cpp.o among the objects")
endif()
if(leaks)
  string(REPLACE ";" "\n  " text "${leaks}")
  message(FATAL_ERROR "simd_symbols: code compiled for a wider instruction set is shared with "
                      "the rest of the program:\n  ${text}")
endif()
message(STATUS "simd_symbols: ${checked} object files, nothing shared")
