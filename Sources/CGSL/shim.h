#ifndef VODSIM_CGSL_SHIM_H
#define VODSIM_CGSL_SHIM_H

// The parts of the GNU Scientific Library vodsim uses. Swift 6 strict concurrency rejects
// mutable C globals, so anything global that Swift needs is reached through a static inline
// function declared here instead of being referenced directly.
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_zeta.h>

/// GSL aborts the process on a domain error by default; vodsim validates parameters itself
/// and reports errors as values, so the handler is switched off once at start-up.
static inline void vodsim_gsl_disable_abort(void) {
    gsl_set_error_handler_off();
}

/// The reference Mersenne Twister generator type, for tests that compare against GSL's own.
static inline const gsl_rng_type *vodsim_gsl_rng_mt19937(void) {
    return gsl_rng_mt19937;
}

#endif
