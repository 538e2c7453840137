# The live page: the library compiled to WebAssembly with emscripten, bundled
# into one self-contained build/web/index.html, and its browser tests
# (tests/web/*.mjs, headless chromium through playwright-core).
#
# Without emcc (or node) the target and the tests are left out, so a plain
# native build still succeeds; scripts/setup.sh installs both for `make test`.

# The page's C API natively, under the same warnings (and sanitizers) as the
# library: it runs wherever the library builds, emscripten or not.
add_executable(test_web_api ${PROJECT_SOURCE_DIR}/web/test_wasm_api.c ${PROJECT_SOURCE_DIR}/web/wasm_api.c)
target_include_directories(test_web_api PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_web_api PRIVATE ravine_static)
add_test(NAME web_api_native COMMAND test_web_api)
set_tests_properties(web_api_native PROPERTIES LABELS web)

find_program(RAVINE_EMCC emcc)
find_program(RAVINE_NODE NAMES node nodejs)

if(NOT RAVINE_EMCC OR NOT RAVINE_NODE OR NOT EXISTS "${RAVINE_EMCC}")
  message(STATUS "web: emcc or node not found; the live page and its browser tests are skipped")
  return()
endif()

set(RAVINE_WEB_DIR ${PROJECT_BINARY_DIR}/web)
set(RAVINE_WEB_CORE ${RAVINE_WEB_DIR}/ravine_core.js)
set(RAVINE_WEB_PAGE ${RAVINE_WEB_DIR}/index.html)

# Same sources and floating-point flags as the native library (no fused
# multiply-adds, so page and CLI compute the same numbers). Debian's emscripten
# runs offline once NODE_PATH points at the system's node modules.
file(GLOB RAVINE_WEB_LIB_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*/*.c)
list(FILTER RAVINE_WEB_LIB_SOURCES EXCLUDE REGEX "/src/dist/")   # the MPI layer
file(GLOB RAVINE_WEB_LIB_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*/*.h
                                                   ${PROJECT_SOURCE_DIR}/include/ravine/*.h)
set(RAVINE_WEB_EMCC_FLAGS
    -O2 -std=c11 -Wall -Wextra
    -fno-math-errno -fno-trapping-math -ffp-contract=off -D_POSIX_C_SOURCE=200809L
    -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src
    -sSINGLE_FILE=1 -sMODULARIZE=1 -sEXPORT_NAME=RavineCore -sENVIRONMENT=web
    -sALLOW_MEMORY_GROWTH=1 -sEXPORTED_RUNTIME_METHODS=cwrap)

add_custom_command(
  OUTPUT ${RAVINE_WEB_CORE}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${RAVINE_WEB_DIR}
  COMMAND ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs
          ${RAVINE_EMCC} ${RAVINE_WEB_EMCC_FLAGS} ${RAVINE_WEB_LIB_SOURCES}
          ${PROJECT_SOURCE_DIR}/web/wasm_api.c -o ${RAVINE_WEB_CORE}
  DEPENDS ${RAVINE_WEB_LIB_SOURCES} ${RAVINE_WEB_LIB_HEADERS} ${PROJECT_SOURCE_DIR}/web/wasm_api.c
  COMMENT "web: compiling libravine to WebAssembly"
  VERBATIM)

add_custom_command(
  OUTPUT ${RAVINE_WEB_PAGE}
  COMMAND ${RAVINE_NODE} ${PROJECT_SOURCE_DIR}/web/bundle.mjs
          --html ${PROJECT_SOURCE_DIR}/web/index.html --css ${PROJECT_SOURCE_DIR}/web/style.css
          --core ${RAVINE_WEB_CORE} --app ${PROJECT_SOURCE_DIR}/web/app.js --out ${RAVINE_WEB_PAGE}
  DEPENDS ${RAVINE_WEB_CORE} ${PROJECT_SOURCE_DIR}/web/bundle.mjs ${PROJECT_SOURCE_DIR}/web/index.html
          ${PROJECT_SOURCE_DIR}/web/style.css ${PROJECT_SOURCE_DIR}/web/app.js
  COMMENT "web: bundling build/web/index.html"
  VERBATIM)

# Part of the default build: the page is a product, not only a test input.
add_custom_target(web ALL DEPENDS ${RAVINE_WEB_PAGE})

# The browser tests (exit 77 = skipped when chromium or playwright-core is absent).
# web_build brings the page up to date first, for `ctest` run on its own.
add_test(NAME web_build COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target web)
set_tests_properties(web_build PROPERTIES FIXTURES_SETUP ravine_web LABELS web)

file(GLOB RAVINE_WEB_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/web/*.mjs)
list(FILTER RAVINE_WEB_TESTS EXCLUDE REGEX "/harness\\.mjs$")
foreach(script ${RAVINE_WEB_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME web_${name} COMMAND ${RAVINE_NODE} ${script})
  set_tests_properties(web_${name} PROPERTIES
    FIXTURES_REQUIRED ravine_web
    SKIP_RETURN_CODE 77
    TIMEOUT 120
    LABELS web
    ENVIRONMENT "RAVINE=$<TARGET_FILE:ravine>;RAVINE_WEB_PAGE=${RAVINE_WEB_PAGE};RAVINE_SOURCE=${PROJECT_SOURCE_DIR};RAVINE_BUILD=${PROJECT_BINARY_DIR}"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endforeach()
