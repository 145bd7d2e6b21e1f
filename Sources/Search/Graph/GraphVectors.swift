import CKernels

/// The vectors a graph walk scores: `rows` unit vectors of `dimensions` components (a
/// Matryoshka prefix such as 64 or 128, renormalised, so cosine is a dot product), stored
/// back to back as float32 or as int8 with one scale per dimension.
///
/// ```swift
/// let vectors = floats.withUnsafeBufferPointer { GraphVectors(encoding: .int8, dimensions: 64, floats: $0) }
/// vectors.set(id: 7, to: newRow)              // overwrite, or append past the end
/// store.put(key, vectors.bytes)               // persist; reload with init(encoding:dimensions:bytes:scales:)
/// ```
/// int8 quarters the bytes a walk pulls through the cache. Scale j is `max_i |x_ij| / 127`
/// over the initial data; a query is multiplied by the scales once, so each similarity is one
/// float × int8 dot. Rows set later are quantised with the same scales, clamped to ±127.
///
/// Reads may run on several threads at once; `set` must not overlap any read.
public final class GraphVectors: @unchecked Sendable {
    public enum Encoding: String, Sendable {
        case float32, int8
    }

    public let encoding: Encoding
    public let dimensions: Int
    /// int8 only: component j of a row is `Float(stored[j]) * scales[j]`. Empty for float32.
    public let scales: [Float]
    public private(set) var rows: Int
    /// Bytes of one stored row: `4 × dimensions` (float32) or `dimensions` (int8).
    public let bytesPerRow: Int

    // Raw memory, not an array: builder threads read rows concurrently and the hot path
    // must not pay for array bounds or uniqueness checks.
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private let scalesPointer: UnsafeMutablePointer<Float>

    /// Rows are the `floats.count / dimensions` rows of `floats`, each already unit length.
    public convenience init(encoding: Encoding, dimensions: Int, floats: UnsafeBufferPointer<Float>) {
        precondition(dimensions > 0 && floats.count % dimensions == 0, "floats must hold whole rows")
        let rows = floats.count / dimensions
        self.init(encoding: encoding, dimensions: dimensions, rows: rows) { visit in
            for i in 0..<rows { visit(i, floats.baseAddress! + i * dimensions) }
        }
    }

    /// `rows` rows (each unit length, `dimensions` floats) that `eachRow` hands, with their
    /// index, to the function it is given, in any order (rows it leaves out are 0, indexes
    /// past the rows are left out): once for float32, twice for int8 (the scales first, then
    /// the rows). For rows made on the fly, so that no copy of them all is made (the walk's
    /// rows of 601,620 vectors: 308 MB of floats, whose pages cost more than the rows' work).
    public convenience init(encoding: Encoding, dimensions: Int, rows: Int,
                            eachRow: ((Int, UnsafePointer<Float>) -> Void) -> Void) {
        var scales: [Float] = []
        if encoding == .int8 {
            var largest = [Float](repeating: 0, count: dimensions)
            largest.withUnsafeMutableBufferPointer { largest in
                eachRow { index, row in
                    guard index >= 0 && index < rows else { return }
                    for j in 0..<dimensions { largest[j] = max(largest[j], abs(row[j])) }
                }
            }
            // A column that is zero everywhere gets the scale of a unit-bounded one, so rows
            // added later can still put weight there.
            scales = largest.map { $0 > 0 ? $0 / 127 : 1 / 127 }
        }
        self.init(encoding: encoding, dimensions: dimensions, scales: scales, rows: rows)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: rows * bytesPerRow)  // the allocator's bytes are not
        eachRow { index, row in if index >= 0 && index < rows { write(row: row, at: index) } }
    }

    /// Restores vectors persisted from `bytes` (and `scales` for int8).
    public convenience init(encoding: Encoding, dimensions: Int, bytes: UnsafeRawBufferPointer, scales: [Float]) {
        let rowBytes = encoding == .float32 ? dimensions * 4 : dimensions
        precondition(dimensions > 0 && bytes.count % rowBytes == 0, "bytes must hold whole rows")
        precondition(scales.count == (encoding == .int8 ? dimensions : 0), "int8 needs one scale per dimension")
        self.init(encoding: encoding, dimensions: dimensions, scales: scales, rows: bytes.count / rowBytes)
        if bytes.count > 0 { storage.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
    }

    private init(encoding: Encoding, dimensions: Int, scales: [Float], rows: Int) {
        self.encoding = encoding
        self.dimensions = dimensions
        self.scales = scales
        self.rows = rows
        bytesPerRow = encoding == .float32 ? dimensions * 4 : dimensions
        capacity = max(rows, 1)
        storage = GraphMemory.allocate(byteCount: capacity * bytesPerRow)
        scalesPointer = .allocate(capacity: max(scales.count, 1))
        scalesPointer.initialize(from: scales, count: scales.count)
    }

    deinit {
        GraphMemory.deallocate(storage)
        scalesPointer.deallocate()
    }

    /// The stored rows, `rows × bytesPerRow` bytes, valid until the next `set`.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: rows * bytesPerRow) }

    /// Stores `row` (unit length, `dimensions` floats) as row `id`: overwrites it, or grows
    /// the rows to `id + 1` with zero rows in any gap.
    public func set(id: UInt32, to row: UnsafeBufferPointer<Float>) {
        precondition(row.count == dimensions, "a row has \(dimensions) components")
        let index = Int(id)
        if index >= capacity {
            let grown = max(index + 1, capacity * 2)
            let moved = GraphMemory.allocate(byteCount: grown * bytesPerRow)
            moved.copyMemory(from: storage, byteCount: rows * bytesPerRow)
            GraphMemory.deallocate(storage)
            storage = moved
            capacity = grown
        }
        if index >= rows {
            (storage + rows * bytesPerRow).initializeMemory(as: UInt8.self, repeating: 0, count: (index + 1 - rows) * bytesPerRow)
            rows = index + 1
        }
        write(row: row.baseAddress!, at: index)
    }

    public func set(id: UInt32, to row: [Float]) {
        row.withUnsafeBufferPointer { set(id: id, to: $0) }
    }

    private func write(row: UnsafePointer<Float>, at index: Int) {
        let target = storage + index * bytesPerRow
        switch encoding {
        case .float32:
            target.copyMemory(from: row, byteCount: bytesPerRow)
        case .int8:
            let out = target.assumingMemoryBound(to: Int8.self)
            // Clamped first (NaN compares false and lands on 127), then rounded.
            for j in 0..<dimensions {
                out[j] = Int8(bitPattern: FloatRounding.nearestByte(max(-127, min(127, row[j] / scalesPointer[j]))))
            }
        }
    }

    // MARK: The walk's primitives

    /// Writes the form of `query` that `similarity` takes: a copy (float32) or the query
    /// times the scales (int8), so the per-row work is a single dot.
    func prepare(query: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        switch encoding {
        case .float32: out.update(from: query, count: dimensions)
        case .int8: for j in 0..<dimensions { out[j] = query[j] * scalesPointer[j] }
        }
    }

    /// Prepares stored row `id` as a query, for the builder, which scores nodes against
    /// nodes: for int8 the dequantised row is scaled once more (x_j · s_j · s_j).
    func prepare(row id: UInt32, into out: UnsafeMutablePointer<Float>) {
        let row = storage + Int(id) * bytesPerRow
        switch encoding {
        case .float32:
            out.update(from: row.assumingMemoryBound(to: Float.self), count: dimensions)
        case .int8:
            let x = row.assumingMemoryBound(to: Int8.self)
            for j in 0..<dimensions { out[j] = Float(x[j]) * scalesPointer[j] * scalesPointer[j] }
        }
    }

    /// The first `count` components of row `id` as stored, dequantised; zeros past the rows.
    func components(of id: UInt32, count: Int, into out: UnsafeMutablePointer<Float>) {
        guard Int(id) < rows else { return out.initialize(repeating: 0, count: count) }
        let row = storage + Int(id) * bytesPerRow
        switch encoding {
        case .float32: out.update(from: row.assumingMemoryBound(to: Float.self), count: count)
        case .int8:
            let x = row.assumingMemoryBound(to: Int8.self)
            for j in 0..<count { out[j] = Float(x[j]) * scalesPointer[j] }
        }
    }

    /// Dot product of a prepared query with row `id`.
    @inline(__always)
    func similarity(_ prepared: UnsafePointer<Float>, _ id: UInt32) -> Float {
        let row = storage + Int(id) &* bytesPerRow
        switch encoding {
        case .float32: return mrl_dot(prepared, row.assumingMemoryBound(to: Float.self), dimensions)
        case .int8: return mrl_dot_f32_i8(prepared, row.assumingMemoryBound(to: Int8.self), dimensions)
        }
    }

    /// Starts loading row `id` into cache while the walk scores another.
    @inline(__always)
    func prefetch(_ id: UInt32) {
        let row = storage + Int(id) &* bytesPerRow
        var offset = 0
        while offset < bytesPerRow {
            mrl_prefetch(row + offset)
            offset &+= 64
        }
    }

    // MARK: Kernel choice

    /// The instruction set of the float × int8 kernel, for `mrl info` and benchmarks.
    public static var int8KernelISA: String { String(cString: mrl_graph_kernels_isa()) }

    /// Switches the float × int8 kernel to `isa` ("avx512f", "avx2+fma", "generic") if this
    /// CPU runs it; returns false and changes nothing otherwise. Float rows use the scan's
    /// kernel, chosen with `ExactSearch.selectKernels`.
    @discardableResult
    public static func selectInt8Kernel(_ isa: String) -> Bool { mrl_graph_kernels_select(isa) == 1 }
}
