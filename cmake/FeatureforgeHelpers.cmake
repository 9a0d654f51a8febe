# ff_add_child_directories(dir): adds `dir` itself when it has a CMakeLists.txt, otherwise every
# direct child folder of `dir` that has one. Lets components be added without editing a shared
# list, so parallel work on different folders never touches the same CMake file.
function(ff_add_child_directories dir)
  set(abs "${CMAKE_CURRENT_SOURCE_DIR}/${dir}")
  if(EXISTS "${abs}/CMakeLists.txt")
    add_subdirectory(${dir})
    return()
  endif()
  file(GLOB children RELATIVE "${abs}" "${abs}/*")
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY "${abs}/${child}" AND EXISTS "${abs}/${child}/CMakeLists.txt")
      add_subdirectory(${dir}/${child})
    endif()
  endforeach()
endfunction()

# ff_add_gtest(name SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s]): one GoogleTest binary whose
# tests are registered individually with CTest.
function(ff_add_gtest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  # ff_gtest_main (tests/testutil): a suite whose SetUpTestSuite fails is reported FAILED, not
  # SKIPPED (CMake's generated properties mark any test printing "[  SKIPPED ]" as skipped).
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} ff_gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  # Paths of this build for tests that run built binaries or read the sample repo. Compile
  # definitions, because gtest_discover_tests writes a list-valued ENVIRONMENT property as
  # separate arguments and ctest then sees only its first element.
  target_compile_definitions(${name} PRIVATE
    FEATUREFORGE_TEST_BINARY_DIR="${CMAKE_BINARY_DIR}"
    FEATUREFORGE_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}"
    ENVIRONMENT "FEATUREFORGE_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# ff_add_all_children(): adds every direct child folder of the current source dir that has a
# CMakeLists.txt.
function(ff_add_all_children)
  file(GLOB children RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/*")
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/${child}"
       AND EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt")
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
