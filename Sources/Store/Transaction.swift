import CLMDB
import Foundation

/// A live LMDB transaction. Values returned by `get` point into the memory map
/// (zero-copy) and stay valid until the transaction ends.
struct Transaction {
    let handle: OpaquePointer
    let path: String

    /// The value stored under `key`, or nil when there is none.
    func get(_ db: MDB_dbi, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { k in
            var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var mv = MDB_val()
            let rc = mdb_get(handle, db, &mk, &mv)
            if rc == MDB_NOTFOUND { return nil }
            try Environment.check(rc, "read", path)
            return UnsafeRawBufferPointer(start: mv.mv_data, count: mv.mv_size)
        }
    }

    /// Stores `value` under `key`, replacing what was there.
    func put(_ db: MDB_dbi, _ key: [UInt8], _ value: UnsafeRawBufferPointer) throws {
        try key.withUnsafeBytes { k in
            var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var mv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            try Environment.check(mdb_put(handle, db, &mk, &mv, 0), "write", path)
        }
    }

    func put(_ db: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws {
        try value.withUnsafeBytes { try put(db, key, $0) }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    func delete(_ db: MDB_dbi, _ key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in
            var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            let rc = mdb_del(handle, db, &mk, nil)
            if rc == MDB_NOTFOUND { return false }
            try Environment.check(rc, "delete", path)
            return true
        }
    }

    /// Number of entries in `db`.
    func count(_ db: MDB_dbi) throws -> Int {
        var stat = MDB_stat()
        try Environment.check(mdb_stat(handle, db, &stat), "stat", path)
        return stat.ms_entries
    }

    /// Calls `body` for each entry whose key is at or after `start`, in key order,
    /// until it returns false.
    func scan(_ db: MDB_dbi, from start: [UInt8],
              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor: OpaquePointer?
        try Environment.check(mdb_cursor_open(handle, db, &cursor), "open cursor", path)
        defer { mdb_cursor_close(cursor) }
        try start.withUnsafeBytes { s in
            var mk = MDB_val(mv_size: s.count, mv_data: UnsafeMutableRawPointer(mutating: s.baseAddress))
            var mv = MDB_val()
            var op = start.isEmpty ? MDB_FIRST : MDB_SET_RANGE
            while true {
                let rc = mdb_cursor_get(cursor, &mk, &mv, op)
                if rc == MDB_NOTFOUND { return }
                try Environment.check(rc, "read cursor", path)
                let key = UnsafeRawBufferPointer(start: mk.mv_data, count: mk.mv_size)
                let value = UnsafeRawBufferPointer(start: mv.mv_data, count: mv.mv_size)
                guard try body(key, value) else { return }
                op = MDB_NEXT
            }
        }
    }
}
