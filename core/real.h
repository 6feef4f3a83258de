/* Kernels are written once against `nreal` and compiled twice: as float for libnerve
 * and, with -DNERVE_F64, as double for the finite-difference tests. NK(name) gives the
 * symbol its _f64 suffix in the double build. Use <tgmath.h> maths (exp, tanh, sqrt…)
 * and cast constants, `(nreal) 0.5`, so the float build never computes in double
 * (-Wdouble-promotion enforces it). */
#pragma once
#include <tgmath.h>
#undef I /* complex.h's imaginary unit would shadow the usual size names */

#ifdef NERVE_F64
typedef double nreal;
#define NK(name) name##_f64
#define NREAL_MAX 1.7976931348623157e308
#else
typedef float nreal;
#define NK(name) name
#define NREAL_MAX 3.402823466e38f
#endif
