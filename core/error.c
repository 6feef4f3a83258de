#include "error.h"

G_DEFINE_QUARK (nerve-error-quark, nerve_error)
