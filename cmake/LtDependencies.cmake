# json-c, pcre2, sentencepiece and OpenBLAS, by pkg-config or plain search.
find_package(PkgConfig REQUIRED)
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(SPM IMPORTED_TARGET sentencepiece)
find_library(OPENBLAS_LIBRARY NAMES openblas)

set(LT_DEP_INCLUDE_DIRS ${JSONC_INCLUDE_DIRS} ${PCRE2_INCLUDE_DIRS})
set(LT_DEP_LIBRARIES PkgConfig::JSONC PkgConfig::PCRE2)
# sentencepiece is never linked into liblispe_torch: Debian's libsentencepiece
# carries protobuf-lite descriptors that clash with the libprotobuf libtorch
# loads (segfault in a static initialiser). cmake/LtSentencePiece.cmake builds
# it into liblt_spm.so, loaded at run time in its own link namespace.
if(OPENBLAS_LIBRARY)
  # libtorch already uses the system BLAS; linking it lets torch_set_num_threads
  # keep OpenBLAS's pool from oversubscribing the cores.
  list(APPEND LT_DEP_LIBRARIES ${OPENBLAS_LIBRARY})
endif()

# rpath to the libtorch actually used (a wheel's torch/lib is not on the loader path)
get_filename_component(LT_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
set(LT_RPATH "${LT_TORCH_LIBDIR}")
