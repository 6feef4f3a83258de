#include "check.h"
#include "nerve.h"
static void test_placeholder (void) { CU_PASS ("x"); }
NERVE_TEST_MAIN ("optim", { "placeholder", test_placeholder })
