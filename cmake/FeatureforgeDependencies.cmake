# Every third-party library, found once here. All come from Debian packages except DuckDB,
# which scripts/setup unpacks from npm into FEATUREFORGE_DEPS_DIR.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Protobuf REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark QUIET)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
add_library(ff_cli11 INTERFACE)
target_include_directories(ff_cli11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})

find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
add_library(ff_hnswlib INTERFACE)
target_include_directories(ff_hnswlib SYSTEM INTERFACE ${HNSWLIB_INCLUDE_DIR})

set(FF_DUCKDB_DIR "${FEATUREFORGE_DEPS_DIR}/duckdb-1.4.4")
if(NOT EXISTS "${FF_DUCKDB_DIR}/lib/libduckdb.so" OR NOT EXISTS "${FF_DUCKDB_DIR}/include/duckdb.h")
  message(FATAL_ERROR "DuckDB not found in ${FF_DUCKDB_DIR}: run scripts/setup first")
endif()
add_library(ff_duckdb SHARED IMPORTED GLOBAL)
set_target_properties(ff_duckdb PROPERTIES
  IMPORTED_LOCATION "${FF_DUCKDB_DIR}/lib/libduckdb.so"
  IMPORTED_NO_SONAME TRUE
  INTERFACE_INCLUDE_DIRECTORIES "${FF_DUCKDB_DIR}/include")
# Binaries find libduckdb.so through their RPATH, wherever the build tree is.
set(CMAKE_BUILD_RPATH "${FF_DUCKDB_DIR}/lib")
set(CMAKE_INSTALL_RPATH "${FF_DUCKDB_DIR}/lib")
