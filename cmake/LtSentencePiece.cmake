# LtSentencePiece.cmake - builds liblt_spm.so, the SentencePiece side of the
# tokenizers (shim/spm/spm.cpp, C API in include/lt_spm.h).
#
# It is a MODULE (never linked): liblispe_torch loads it at run time with
# dlmopen(LM_ID_NEWLM) from its own directory (or $LT_SPM_LIBRARY), because
# libsentencepiece's protobuf-lite code crashes a process that also has
# libtorch's libprotobuf in the main link namespace. So it links ONLY
# sentencepiece: no libtorch, no sanitizer runtime (the namespace would need
# its own copy), and it must land next to liblispe_torch.so in the build tree
# and in the install directory.
#
# Use: include(LtSentencePiece) after add_library(lispe_torch ...) (and after
# LT_INSTALL_LIBDIR is set, if it is). Self-contained: finds sentencepiece
# itself when cmake/LtDependencies.cmake did not. Without sentencepiece the
# library still builds; torch_sentencepiece_tokenizer then says it is absent.

include_guard(GLOBAL)
set(_lt_spm_root "${CMAKE_CURRENT_LIST_DIR}/..")

if(NOT SPM_FOUND)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(SPM QUIET IMPORTED_TARGET sentencepiece)
  endif()
endif()

if(SPM_FOUND AND TARGET PkgConfig::SPM)
  add_library(lt_spm MODULE "${_lt_spm_root}/shim/spm/spm.cpp")
  set_target_properties(lt_spm PROPERTIES
    OUTPUT_NAME lt_spm
    PREFIX "lib"
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # beside liblispe_torch.so, where spm_dl.c looks for it
  if(TARGET lispe_torch)
    get_target_property(_lt_spm_dir lispe_torch LIBRARY_OUTPUT_DIRECTORY)
    if(NOT _lt_spm_dir)
      get_target_property(_lt_spm_dir lispe_torch BINARY_DIR)
    endif()
    set_target_properties(lt_spm PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${_lt_spm_dir}")
    add_dependencies(lispe_torch lt_spm)
    unset(_lt_spm_dir)
  else()
    set_target_properties(lt_spm PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  target_include_directories(lt_spm PRIVATE "${_lt_spm_root}/include" ${SPM_INCLUDE_DIRS})
  target_compile_definitions(lt_spm PRIVATE LT_SPM_VERSION_TEXT="${SPM_VERSION}")
  target_compile_options(lt_spm PRIVATE -Wall)
  target_link_libraries(lt_spm PRIVATE PkgConfig::SPM)
  target_link_options(lt_spm PRIVATE -Wl,--no-undefined)

  # Options inherited from add_compile_options/add_link_options (LT_ASAN's
  # -fsanitize=...) would make the module need a sanitizer runtime of its own
  # inside the new namespace: drop them for this target only.
  foreach(_prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(_opts lt_spm ${_prop})
    if(_opts)
      list(FILTER _opts EXCLUDE REGEX "sanitize")
      set_property(TARGET lt_spm PROPERTY ${_prop} ${_opts})
    endif()
  endforeach()

  if(NOT DEFINED LT_INSTALL_LIBDIR)
    if(LISPE_DIR AND EXISTS "${LISPE_DIR}/bin")
      set(LT_INSTALL_LIBDIR "${LISPE_DIR}/bin" CACHE PATH "install dir of liblispe_torch.so")
    else()
      set(LT_INSTALL_LIBDIR "${CMAKE_INSTALL_PREFIX}/lib/lispe" CACHE PATH "install dir of liblispe_torch.so")
    endif()
  endif()
  install(TARGETS lt_spm LIBRARY DESTINATION ${LT_INSTALL_LIBDIR})
  message(STATUS "lispe_torch: SentencePiece ${SPM_VERSION} -> liblt_spm.so (loaded with dlmopen)")
else()
  message(STATUS "lispe_torch: sentencepiece not found; the SentencePiece primitives will report it at run time")
endif()
unset(_lt_spm_root)
