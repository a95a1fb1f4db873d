#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CGSL
import SimCore

/// The bridge to the GNU Scientific Library: a `gsl_rng` generator type whose state is a
/// ``RandomStream``, so that `gsl_ran_*` samplers draw from an entity's own stream, and checked
/// wrappers around the quantile and statistics functions vodsim uses.
///
/// GSL's default error handler aborts the process; it is switched off before any GSL call, and
/// every parameter is validated on the Swift side first, so a domain error becomes a clear message.
public enum GSL {
    /// Runs once, before the first GSL call.
    private static let configured: Void = vodsim_gsl_disable_abort()

    /// Switches GSL's abort-on-error handler off (idempotent, thread-safe).
    @inlinable
    public static func configure() { _configure() }

    @usableFromInline
    static func _configure() { _ = configured }

    /// The generator type. `get` returns the upper 32 bits of the next draw (GSL assumes `max`
    /// fits samplers' integer arithmetic); `get_double` returns 53-bit doubles in [0, 1), exactly
    /// ``RandomStream/nextDouble()``.
    nonisolated(unsafe) public static let streamType: UnsafePointer<gsl_rng_type> = {
        _ = configured
        let type = UnsafeMutablePointer<gsl_rng_type>.allocate(capacity: 1)
        type.initialize(to: gsl_rng_type(
            name: UnsafePointer(strdup("vodsim-splitmix64")),
            max: 0xFFFF_FFFF,
            min: 0,
            size: MemoryLayout<RandomStream>.size,
            set: { state, seed in
                state!.assumingMemoryBound(to: RandomStream.self).pointee =
                    RandomStream(seed: UInt64(seed), label: "gsl.seed", id: 0)
            },
            get: { state in
                UInt(state!.assumingMemoryBound(to: RandomStream.self).pointee.next() >> 32)
            },
            get_double: { state in
                state!.assumingMemoryBound(to: RandomStream.self).pointee.nextDouble()
            }
        ))
        return UnsafePointer(type)
    }()

    /// Calls `body` with a GSL generator whose state is `stream`; draws advance `stream` in place.
    /// No allocation: the `gsl_rng` lives on the stack and points at the caller's stream.
    @inlinable
    public static func withGenerator<R>(_ stream: inout RandomStream, _ body: (UnsafePointer<gsl_rng>) throws -> R) rethrows -> R {
        try withUnsafeMutablePointer(to: &stream) { state in
            var rng = gsl_rng(type: streamType, state: UnsafeMutableRawPointer(state))
            return try withUnsafePointer(to: &rng) { try body($0) }
        }
    }

    /// The standard normal quantile Φ⁻¹(p).
    /// - Precondition: 0 < p < 1.
    @inlinable
    public static func normalQuantile(_ p: Double) -> Double {
        configure()
        return gsl_cdf_ugaussian_Pinv(p)
    }

    /// The quantile of Student's t distribution with `dof` degrees of freedom.
    public static func studentTQuantile(_ p: Double, degreesOfFreedom dof: Double) -> Double {
        configure()
        return gsl_cdf_tdist_Pinv(p, dof)
    }

    /// The upper tail P(X > x) of the chi-square distribution with `dof` degrees of freedom.
    public static func chiSquareUpperTail(_ x: Double, degreesOfFreedom dof: Double) -> Double {
        configure()
        return gsl_cdf_chisq_Q(x, dof)
    }

    /// The quantile of the chi-square distribution with `dof` degrees of freedom.
    public static func chiSquareQuantile(_ p: Double, degreesOfFreedom dof: Double) -> Double {
        configure()
        return gsl_cdf_chisq_Pinv(p, dof)
    }
}
