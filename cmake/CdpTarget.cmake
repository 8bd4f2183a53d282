# Compile settings shared by every target of ours (not by generated code).

if(CDP_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address)
elseif(CDP_SANITIZE STREQUAL "undefined")
  add_compile_options(-fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=undefined)
elseif(CDP_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread)
  add_link_options(-fsanitize=thread)
elseif(NOT CDP_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CDP_SANITIZE must be address, undefined, thread or empty")
endif()

# Warnings as errors for our own code.
function(cdp_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Werror=unused-result
                                           -Wno-unused-parameter
                                           -Wno-missing-field-initializers)
endfunction()

# cdp_library(NAME SOURCES ... DEPS ...): one library per folder, alias cdp::NAME.
function(cdp_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(cdp_${name} STATIC ${ARG_SOURCES})
  add_library(cdp::${name} ALIAS cdp_${name})
  target_include_directories(cdp_${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(cdp_${name} PUBLIC ${ARG_DEPS})
  cdp_target_warnings(cdp_${name})
endfunction()

# cdp_test(NAME SOURCES ... DEPS ...): one gtest binary registered with ctest.
function(cdp_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} cdp::test_support GTest::gmock GTest::gtest_main)
  cdp_target_warnings(${name})
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()

# cdp_proto_library(NAME PROTO file.proto): compiles a module's persisted-record schema into
# cdp_NAME_proto; the generated header is included as "<module>/<file>.pb.h". Generated code is
# built without our warning flags.
function(cdp_proto_library name)
  cmake_parse_arguments(ARG "" "PROTO" "" ${ARGN})
  file(RELATIVE_PATH module_dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  protobuf_generate(
    LANGUAGE cpp
    OUT_VAR srcs
    PROTOS ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_PROTO}
    PROTOC_OUT_DIR ${PROJECT_BINARY_DIR}/${module_dir})
  add_library(cdp_${name}_proto STATIC ${srcs})
  target_include_directories(cdp_${name}_proto PUBLIC ${PROJECT_BINARY_DIR})
  target_link_libraries(cdp_${name}_proto PUBLIC protobuf::libprotobuf)
endfunction()
