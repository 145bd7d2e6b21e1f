/// The one check of a vector's values, for documents and queries alike, whether they come
/// as JSON (API, JSONL, query files) or through the library's own calls.
///
/// Cosine needs a direction, so a zero vector is refused. The kernels sum squares in 32-bit
/// float, so a vector whose squared norm underflows there (every component below about
/// 1e-19) would be scored as if it were zero, and one whose squared norm overflows (a
/// component above about 1e19) as NaN: both are refused too, with what to do.
public enum VectorValues {
    /// Why `vector` cannot be stored or searched with, in words for the user; nil if it can.
    public static func problem(_ vector: [Float]) -> String? {
        if let i = vector.firstIndex(where: { !$0.isFinite }) {
            return "element \(i) is not finite (NaN or out of float range)"
        }
        let squared = vector.reduce(Float(0)) { $0 + $1 * $1 }
        if squared == 0 {
            return vector.allSatisfy { $0 == 0 }
                ? "is all zeros: a zero vector has no direction to compare by cosine"
                : "is too small: its squared norm underflows 32-bit float: scale it up (to unit length, say)"
        }
        if !squared.isFinite {
            return "is too large: its squared norm overflows 32-bit float: scale it down (to unit length, say)"
        }
        return nil
    }
}
