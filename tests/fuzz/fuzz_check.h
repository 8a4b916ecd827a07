// A check for fuzz targets: a broken invariant is a crash libFuzzer records.
#ifndef DRASYL_TESTS_FUZZ_FUZZ_CHECK_H_
#define DRASYL_TESTS_FUZZ_FUZZ_CHECK_H_

#define CHECK_OR_TRAP(cond)        \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

#endif  // DRASYL_TESTS_FUZZ_FUZZ_CHECK_H_
