# Runs one libFuzzer target for a bounded number of inputs on a fresh copy of
# its seed corpus, inside the build directory (the copy may grow; crash
# reproducers land next to it).
#   cmake -DFUZZER=<binary> -DSEEDS=<dir> -DWORK=<dir> -DRUNS=<n> -P run_fuzz.cmake
foreach(_v FUZZER SEEDS WORK RUNS)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_fuzz.cmake: ${_v} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(COPY ${SEEDS}/ DESTINATION ${WORK}/corpus)

execute_process(
  COMMAND ${FUZZER} -runs=${RUNS} -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix=${WORK}/ ${WORK}/corpus
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  file(GLOB _artifacts ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-* ${WORK}/slow-unit-*)
  message(FATAL_ERROR "${FUZZER} failed (${_rc}); reproducers: ${_artifacts}")
endif()
