import Foundation
import JSONValue

/// A `.safetensors` file, memory-mapped read-only: tensors are pointers into the map, so
/// loading costs no copy and processes share the pages.
/// Layout: 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the data.
final class SafeTensors {
    struct Entry {
        let dtype: String
        let shape: [Int]
        let range: Range<Int>
    }

    let path: String
    let entries: [String: Entry]
    /// The header bytes and the file size, hashed: a cheap, stable fingerprint of the weights.
    let fingerprint: String
    private let base: UnsafeMutableRawPointer
    private let size: Int
    private let dataStart: Int

    /// Maps `path`; throws `missingFile` or `badWeights` (bad header, truncated file).
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EncoderError.missingFile(path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 8 else { throw EncoderError.badWeights(path: path, detail: "file is empty") }
        size = Int(info.st_size)
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw EncoderError.badWeights(path: path, detail: "cannot map it: \(String(cString: strerror(errno)))")
        }
        base = map
        // Compared as UInt64: the length is the file's word, and may be past Int.
        let storedLength = map.loadUnaligned(as: UInt64.self).littleEndian
        guard storedLength > 0, storedLength <= UInt64(size - 8) else {
            munmap(map, size)
            throw EncoderError.badWeights(path: path, detail: "header says \(storedLength) bytes, file has \(size)")
        }
        let headerLength = Int(storedLength)
        dataStart = 8 + headerLength
        let header = UnsafeRawBufferPointer(start: map + 8, count: headerLength)
        guard let json = (try? JSON.parse(header))?.object else {
            munmap(map, size)
            throw EncoderError.badWeights(path: path, detail: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        for (name, value) in json where name != "__metadata__" {
            guard let dtype = value["dtype"]?.string, let shape = value["shape"].flatMap({ try? [Int](json: $0) }),
                  let offsets = value["data_offsets"].flatMap({ try? [Int](json: $0) }), offsets.count == 2
            else { continue }
            guard 0 <= offsets[0], offsets[0] <= offsets[1] else {
                munmap(map, size)
                throw EncoderError.badWeights(path: path, detail: "tensor \(name) has data_offsets \(offsets)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.entries = entries
        let end = entries.values.map(\.range.upperBound).max() ?? 0
        guard end <= size - dataStart else {
            munmap(map, size)
            throw EncoderError.badWeights(path: path, detail: "truncated: header says \(dataStart + end) bytes, file has \(size)")
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in header { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        fingerprint = String(hash ^ UInt64(size), radix: 16)
    }

    deinit { munmap(base, size) }

    /// The float32 tensor `name`, checked against `shape`; throws `badWeights` naming it.
    func floats(_ name: String, shape: [Int]) throws -> UnsafePointer<Float> {
        guard let entry = entries[name] else { throw EncoderError.badWeights(path: path, detail: "tensor \(name) is missing") }
        guard entry.dtype == "F32" else { throw EncoderError.badWeights(path: path, detail: "tensor \(name) is \(entry.dtype), expected F32") }
        guard entry.shape == shape, entry.range.count == shape.reduce(4, *) else {
            throw EncoderError.badWeights(path: path, detail: "tensor \(name) has shape \(entry.shape), config says \(shape)")
        }
        let start = base + dataStart + entry.range.lowerBound
        guard Int(bitPattern: start) % 4 == 0 else { throw EncoderError.badWeights(path: path, detail: "tensor \(name) is misaligned") }
        return UnsafePointer(start.assumingMemoryBound(to: Float.self))
    }
}
