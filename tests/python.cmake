# The Python package's tests (ravine.torch): every tests/python/test_*.py runs
# with Debian's python3 against this build's libravine.so. A script exits 77
# (skipped, with the reason printed) when torch is not installed.
#
# Python cannot load a sanitizer-instrumented library (the sanitizer runtime
# must come first in the process), so a sanitizer build leaves them out; the
# library's C tests cover that build.

if(RAVINE_SANITIZE)
  message(STATUS "python: the ravine.torch tests are left out of the sanitizer build")
  return()
endif()

if(EXISTS /usr/bin/python3)
  set(RAVINE_PYTHON3 /usr/bin/python3)
else()
  find_program(RAVINE_PYTHON3 python3)
endif()
if(NOT RAVINE_PYTHON3)
  message(STATUS "python: python3 not found; the ravine.torch tests are skipped")
  return()
endif()

set(RAVINE_PYTHON_ENV
    "PYTHONPATH=${PROJECT_SOURCE_DIR}/python"
    "PYTHONDONTWRITEBYTECODE=1"
    "RAVINE_LIBRARY=$<TARGET_FILE:ravine_shared>"
    "RAVINE_FIXTURES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures")

file(GLOB RAVINE_PYTHON_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/python/test_*.py)
foreach(script ${RAVINE_PYTHON_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME py_${name} COMMAND ${RAVINE_PYTHON3} ${script})
  set_tests_properties(py_${name} PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT 300
    LABELS "python;nosan"
    ENVIRONMENT "${RAVINE_PYTHON_ENV}"
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/python)
endforeach()

# make install's package: installed beside the library, it finds it on its own
add_test(NAME py_install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/install_package.sh)
set_tests_properties(py_install PROPERTIES
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  LABELS "python;nosan"
  ENVIRONMENT "RAVINE_BUILD=${PROJECT_BINARY_DIR};PYTHON3=${RAVINE_PYTHON3};PYTHONDONTWRITEBYTECODE=1")
