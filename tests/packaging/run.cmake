# Packaging test driver, run by ctest as `cmake -P run.cmake` with:
#   MODE            find-package | add-subdirectory
#   SKEIN_SOURCE    skein's source tree
#   SKEIN_BINARY    skein's build tree (find-package: installed from with `cmake --install`)
#   WORK_DIR        scratch directory, emptied first
#   GENERATOR, MAKE_PROGRAM, CXX_COMPILER, BUILD_TYPE
# It configures and builds the consumer project of that mode in WORK_DIR and runs it.
cmake_minimum_required(VERSION 3.22)

foreach(var MODE SKEIN_SOURCE SKEIN_BINARY WORK_DIR GENERATOR CXX_COMPILER BUILD_TYPE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " shown "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${shown}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(configure_args
  -S "${SKEIN_SOURCE}/tests/packaging/${MODE}"
  -B "${WORK_DIR}/build"
  -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

if(MODE STREQUAL "find-package")
  run("${CMAKE_COMMAND}" --install "${SKEIN_BINARY}" --prefix "${WORK_DIR}/prefix")
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
elseif(MODE STREQUAL "add-subdirectory")
  list(APPEND configure_args "-DSKEIN_SOURCE_DIR=${SKEIN_SOURCE}")
else()
  message(FATAL_ERROR "run.cmake: unknown MODE '${MODE}'")
endif()

run("${CMAKE_COMMAND}" ${configure_args})
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
