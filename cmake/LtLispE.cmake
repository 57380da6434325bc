# LtLispE.cmake - the LispE adapter (lispe_bindings/), included when -DLISPE_DIR=<dir>.
#
# LISPE_DIR is a LispE source tree or install: include/lispe.h (and the other
# LispE headers) plus bin/liblispe.so and bin/lispe.
#
# Sets:
#   LT_ADAPTER_CXX_SOURCES  the adapter's .cxx files (absolute paths)
#   LT_ADAPTER_SOURCES      what the lispe_torch library adds to its sources: the
#                           objects of those .cxx files, compiled in their own
#                           OBJECT library (see below why)
#   LISPE_EXECUTABLE        ${LISPE_DIR}/bin/lispe (the script tests run it)
# Defines:
#   lt_configure_adapter(target)  links liblispe.so and adds ${LISPE_DIR}/bin
#                                 to the target's rpath
#
# The adapter is C++17 and never includes a libtorch header. It is compiled in
# the OBJECT library lt_lispe_adapter, which does not link torch: a source
# listed directly in lispe_torch would inherit torch's INTERFACE_COMPILE_OPTIONS
# (-D_GLIBCXX_USE_CXX11_ABI=..., and -std=c++20 with libtorch 2.x), and LispE's
# headers must be compiled with the same ABI and standard as liblispe.so.

if(NOT LISPE_DIR)
  message(FATAL_ERROR "LtLispE.cmake: LISPE_DIR is not set")
endif()
get_filename_component(LISPE_DIR "${LISPE_DIR}" ABSOLUTE)

set(LISPE_INCLUDE_DIR "${LISPE_DIR}/include")
set(LISPE_LIBRARY "${LISPE_DIR}/bin/liblispe.so")
set(LISPE_EXECUTABLE "${LISPE_DIR}/bin/lispe")

if(NOT EXISTS "${LISPE_INCLUDE_DIR}/lispe.h")
  message(FATAL_ERROR
    "lispe_torch: LISPE_DIR=${LISPE_DIR} has no include/lispe.h.\n"
    "Point -DLISPE_DIR at a LispE tree holding include/lispe.h and bin/liblispe.so, "
    "or configure without -DLISPE_DIR to build the C library alone.")
endif()
if(NOT EXISTS "${LISPE_LIBRARY}")
  message(FATAL_ERROR
    "lispe_torch: LISPE_DIR=${LISPE_DIR} has no bin/liblispe.so (LispE's shared library, "
    "which the adapter links so that the interpreter's state is not duplicated).\n"
    "Build LispE's library first, or configure without -DLISPE_DIR.")
endif()
if(NOT EXISTS "${LISPE_EXECUTABLE}")
  message(WARNING "lispe_torch: ${LISPE_EXECUTABLE} not found: the LispE script tests will fail to run")
endif()

file(GLOB LT_ADAPTER_CXX_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/lispe_bindings/*.cxx)
if(NOT LT_ADAPTER_CXX_SOURCES)
  message(FATAL_ERROR "lispe_torch: no lispe_bindings/*.cxx found")
endif()

add_library(lt_lispe_adapter OBJECT ${LT_ADAPTER_CXX_SOURCES})
set_target_properties(lt_lispe_adapter PROPERTIES
  CXX_STANDARD 17
  CXX_STANDARD_REQUIRED ON
  CXX_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON)
# our own headers (lispe_torch.h, lt_value.h) normally, LispE's as SYSTEM
# headers so that their warnings stay silent
target_include_directories(lt_lispe_adapter PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_include_directories(lt_lispe_adapter SYSTEM PRIVATE ${LISPE_INCLUDE_DIR})
# -DUNIX: what LispE's own build uses on Linux (selects the POSIX code paths)
target_compile_definitions(lt_lispe_adapter PRIVATE UNIX)
target_compile_options(lt_lispe_adapter PRIVATE -Wall -Wno-overloaded-virtual -Wno-unknown-pragmas)

set(LT_ADAPTER_SOURCES $<TARGET_OBJECTS:lt_lispe_adapter>)

function(lt_configure_adapter target)
  add_dependencies(${target} lt_lispe_adapter)
  target_link_libraries(${target} PRIVATE ${LISPE_LIBRARY})
  foreach(prop BUILD_RPATH INSTALL_RPATH)
    get_target_property(rp ${target} ${prop})
    if(NOT rp)
      set(rp "${LT_RPATH}")
    endif()
    list(APPEND rp "${LISPE_DIR}/bin")
    list(REMOVE_DUPLICATES rp)
    set_target_properties(${target} PROPERTIES ${prop} "${rp}")
  endforeach()
endfunction()

message(STATUS "lispe_torch: LispE adapter against ${LISPE_DIR} (${LISPE_LIBRARY})")
