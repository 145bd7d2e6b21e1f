/// Rounding to the nearest integer in float arithmetic, into a byte. The baseline x86-64 this
/// package is compiled for has no rounding instruction, so `rounded()` is a libm call: it was
/// most of the time ordered codes took to make (63 ms for 60,000 rows), and a third of the
/// time int8 walk rows took (601,620 rows); and a conversion from float to an integer checks
/// its range. Adding `shift` leaves no fraction bits in the sum, so the addition rounds (ties
/// to even), and the sum's low bits hold the rounded value.
enum FloatRounding {
    /// 1.5 × 2^23: the sums of floats of magnitude below 2^22 with it lie in [2^23, 2^24).
    static let shift: Float = 12_582_912

    /// The low byte of `x` (|x| < 2^22) rounded to the nearest integer: the integer itself,
    /// as two's complement for -128...127 (`Int8(bitPattern:)`) or as 0...255. No checked
    /// conversion from float, so nothing to trap on and loops it can be in stay simple.
    @inline(__always)
    static func nearestByte(_ x: Float) -> UInt8 { UInt8(truncatingIfNeeded: (x + shift).bitPattern) }
}
