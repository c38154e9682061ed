# ctest fixture (tests/cross): configures a cross preset and builds its unit
# test binary.   cmake -DPRESET=armhf -DTOP=<source dir> -P build_unit.cmake
foreach(v PRESET TOP)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "build_unit.cmake: -D${v}=... is required")
  endif()
endforeach()
set(tree ${TOP}/build/${PRESET})

execute_process(COMMAND ${CMAKE_COMMAND} --preset ${PRESET} WORKING_DIRECTORY ${TOP}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --preset ${PRESET} failed (${rc}):\n${out}")
endif()

# Without CppUTest for the target, tests/unit defines no test binary.
file(STRINGS ${tree}/CMakeCache.txt found REGEX "^CPPUTEST_LIB:FILEPATH=")
if(NOT found OR found MATCHES "NOTFOUND$")
  message(FATAL_ERROR "CppUTest for ${PRESET} is not in the target sysroot: run toolchain/bootstrap.sh "
                      "(it unpacks libcpputest-dev for each architecture), then reconfigure ${tree}")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${tree} --target strata_unit_tests WORKING_DIRECTORY ${TOP}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building strata_unit_tests for ${PRESET} failed (${rc}):\n${out}")
endif()
message(STATUS "${tree}/tests/unit/strata_unit_tests is up to date")
