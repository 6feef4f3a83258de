/* Real FFT of any length n >= 2: mixed radix (4, 2, 3, 5) for the sizes audio uses
 * (512 for 16 kHz DTLN-style frames, 960 for 48 kHz RNNoise-style frames, 400, 480...),
 * a generic odd-prime butterfly for other factors. Plan once per length, run many; a
 * plan holds scratch, so each thread/stream uses its own.
 *
 * Spectra are n/2+1 complex bins interleaved re,im: 2*(n/2+1) floats. Forward is
 * unnormalised (numpy.fft.rfft); inverse scales by 1/n (numpy.fft.irfft), so
 * inverse(forward(x)) == x. The imaginary parts of bin 0 (and of bin n/2 for even n)
 * are ignored by the inverse. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct _NerveFft NerveFft;

NerveFft *nerve_fft_new (int n, GError **error);
void nerve_fft_free (NerveFft *f);
int nerve_fft_size (const NerveFft *f);
int nerve_fft_bins (const NerveFft *f); /* n/2 + 1 */

void nerve_fft_forward (NerveFft *f, const float *in /* [n] */, float *out /* [2*bins] */);
void nerve_fft_inverse (NerveFft *f, const float *in /* [2*bins] */, float *out /* [n] */);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveFft, nerve_fft_free)

G_END_DECLS
