import Foundation
import Store

/// The id of chunk N of a document or file: `BASE#N`. Ids are LMDB keys of at most 511
/// bytes, so when that would be longer (a deep path) the base is cut to a readable prefix
/// followed by `~` and 16 hex digits of a hash of the whole base: the same base always gets
/// the same id, so re-runs find their chunks, and the full path stays in the chunk's meta.
enum ChunkID {
    static func make(_ base: String, _ n: Int) -> String {
        let suffix = "#\(n)"
        guard base.utf8.count + suffix.utf8.count > IndexStore.maxIDBytes else { return base + suffix }
        var hash = ContentHash()
        hash.add(base)
        let tag = String(format: "~%016llx", hash.value)
        let room = IndexStore.maxIDBytes - tag.utf8.count - suffix.utf8.count
        var prefix = "", used = 0
        for character in base {
            used += character.utf8.count
            if used > room { break }
            prefix.append(character)
        }
        return prefix + tag + suffix
    }
}
