// Default sanitizer options of every fuzz target, so that a target run by hand behaves as under
// scripts/fuzz.sh: UBSan stops at the first report not suppressed by fuzz/ubsan.supp (path
// compiled in by fuzz/CMakeLists.txt). UBSAN_OPTIONS in the environment adds to these.

extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" CDP_FUZZ_UBSAN_SUPPRESSIONS;
}
