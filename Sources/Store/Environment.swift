import CLMDB
import Foundation
import Synchronization

/// One LMDB environment (a directory holding data.mdb and lock.mdb) and its named databases.
///
/// Writes run in `write`, which grows the memory map when LMDB reports it full and
/// retries the whole transaction, up to `mapSizeCap`. LMDB keeps its default durable
/// sync: a committed transaction is on disk when `mdb_txn_commit` returns.
///
/// Safe to use from many threads (the daemon's): LMDB allows any number of read
/// transactions beside one write transaction, but changes the map's size only while this
/// process has no transaction open, so every transaction holds `mapLock` shared and a
/// resize takes it exclusively.
final class Environment: @unchecked Sendable {
    let path: String
    let handle: OpaquePointer
    let mapSizeCap: Int
    let readOnly: Bool
    private let currentMapSize: Atomic<Int>
    private let mapLock = ReadWriteLock()
    /// Signalled once the map and files are closed.
    let closed = CloseSignal()
    /// A backup copy is being written (see `copy`).
    private let copying = Atomic(false)

    var mapSize: Int { currentMapSize.load(ordering: .relaxed) }
    /// Remaps of the map in this process so far. Each may move it (LMDB's `me_mapaddr` is the
    /// address recorded in the file, not the mapping's), so pointers into the map taken under
    /// an older generation are void. Changes only under `mapLock` held exclusively: stable
    /// while any transaction is open.
    var mapGeneration: Int { remaps.load(ordering: .relaxed) }
    private let remaps = Atomic(0)

    static let initialMapSize = 64 << 20

    /// Opens (creating the files if needed) the environment in `directory`.
    /// Throws `StoreError.lmdb` if LMDB refuses (permissions, a damaged file).
    init(directory: String, maxDatabases: Int, mapSizeCap: Int, readOnly: Bool) throws {
        var env: OpaquePointer?
        try Environment.check(mdb_env_create(&env), "mdb_env_create", directory)
        guard let env else { throw StoreError.lmdb(code: ENOMEM, operation: "mdb_env_create", path: directory) }
        handle = env
        path = directory
        self.mapSizeCap = mapSizeCap
        self.readOnly = readOnly
        do {
            try Environment.check(mdb_env_set_maxdbs(env, MDB_dbi(maxDatabases)), "mdb_env_set_maxdbs", directory)
            // Start small: the map grows on demand (see `write`), so a tiny index stays tiny
            // in address space; LMDB itself adopts a larger size recorded in the file.
            try Environment.check(mdb_env_set_mapsize(env, min(Environment.initialMapSize, mapSizeCap)), "mdb_env_set_mapsize", directory)
            // MDB_NOTLS: read transactions are not tied to a thread, so async code may hop threads.
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            try Environment.check(mdb_env_open(env, directory, flags, 0o644), "mdb_env_open", directory)
        } catch {
            mdb_env_close(env)
            throw error
        }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        currentMapSize = Atomic(info.me_mapsize)
    }

    deinit {
        mdb_env_close(handle)
        closed.signal()
    }

    /// Opens named databases (creating them when `create`) and returns their handles.
    /// The transaction that opens them is committed, read-only or not: LMDB keeps a handle
    /// for later transactions only then. When creating, `initialize` writes in the same
    /// transaction, so the databases and their first contents appear together.
    @discardableResult
    func openDatabases(_ names: [String], create: Bool,
                       initialize: (Transaction, [MDB_dbi]) throws -> Void = { _, _ in }) throws -> [MDB_dbi] {
        if create {
            return try write { txn in
                let dbis = try names.map { try open($0, txn, create: true) }
                try initialize(txn, dbis)
                return dbis
            }
        }
        return try mapLock.withReadLock {
            let txn = try begin(flags: UInt32(MDB_RDONLY))
            let dbis: [MDB_dbi]
            do {
                dbis = try names.map { try open($0, txn, create: false) }
            } catch {
                mdb_txn_abort(txn.handle)
                throw error
            }
            try Environment.check(mdb_txn_commit(txn.handle), "commit", path)
            return dbis
        }
    }

    private func open(_ name: String, _ txn: Transaction, create: Bool) throws -> MDB_dbi {
        var dbi = MDB_dbi()
        let rc = mdb_dbi_open(txn.handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi)
        if rc == MDB_NOTFOUND { throw StoreError.corrupt(path: path, detail: "database \(name) is missing") }
        try Environment.check(rc, "open database \(name)", path)
        return dbi
    }

    /// Runs `body` in a read-only snapshot. Pointers read inside are valid only inside `body`.
    func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        try mapLock.withReadLock {
            let txn = try begin(flags: UInt32(MDB_RDONLY))
            defer { mdb_txn_abort(txn.handle) }
            return try body(txn)
        }
    }

    /// Runs `body` in one write transaction and commits it. When the map is full the
    /// transaction is aborted, the map doubled (up to the cap) and `body` run again, so
    /// `body` must keep its effects inside the transaction.
    /// Throws `mapCapReached` at the cap and `diskFull` on ENOSPC; nothing of `body` is kept then.
    func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        while true {
            let outcome: T? = try mapLock.withReadLock {
                let txn = try begin(flags: 0)
                let result: T
                do {
                    result = try body(txn)
                } catch StoreError.lmdb(let code, _, _) where code == MDB_MAP_FULL {
                    mdb_txn_abort(txn.handle)
                    return nil
                } catch {
                    mdb_txn_abort(txn.handle)
                    throw error
                }
                // mdb_txn_commit frees the transaction whatever it returns: never abort after it.
                let rc = mdb_txn_commit(txn.handle)
                if rc == MDB_MAP_FULL { return nil }
                try Environment.check(rc, "commit", path)
                return result
            }
            if let outcome { return outcome }
            try grow()
        }
    }

    /// Writes a compacted copy of the environment into the existing, empty `directory`.
    ///
    /// The copy reads in one transaction, and the map cannot grow while any is open, so a
    /// write that filled the map would wait for the whole copy. The map is first given room
    /// for as much again as the index holds (address space only: the file grows as pages
    /// are written). One copy runs at a time: another throws `backupRunning`.
    func copy(to directory: String) throws {
        guard copying.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw StoreError.backupRunning(path: path)
        }
        defer { copying.store(false, ordering: .releasing) }
        if !readOnly {
            var info = MDB_envinfo(), stat = MDB_stat()
            mdb_env_info(handle, &info)
            mdb_env_stat(handle, &stat)
            let used = (info.me_last_pgno + 1) * Int(stat.ms_psize)
            try mapLock.withWriteLock { try resize(to: min(max(mapSize, 2 * used), mapSizeCap)) }
        }
        try mapLock.withReadLock {
            try Environment.check(mdb_env_copy2(handle, directory, UInt32(MDB_CP_COMPACT)), "copy the index", directory)
        }
    }

    /// Doubles the map, with no transaction of this process open (LMDB's rule).
    private func grow() throws {
        try mapLock.withWriteLock {
            guard mapSize < mapSizeCap else { throw StoreError.mapCapReached(path: path, capBytes: mapSizeCap) }
            try resize(to: min(mapSize * 2, mapSizeCap))
        }
    }

    /// Sets the map's size (never down); the caller holds `mapLock` exclusively.
    private func resize(to size: Int) throws {
        guard size > mapSize else { return }
        try Environment.check(mdb_env_set_mapsize(handle, size), "mdb_env_set_mapsize", path)
        remaps.add(1, ordering: .relaxed)
        currentMapSize.store(size, ordering: .relaxed)
    }

    /// Begins a transaction; the caller holds `mapLock` shared. When another process grew
    /// the map, adopting its size needs the lock exclusively: it is dropped and retaken.
    private func begin(flags: UInt32) throws -> Transaction {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(handle, nil, flags, &txn)
        if rc == MDB_MAP_RESIZED {
            mapLock.unlock()
            mapLock.withWriteLock {
                mdb_env_set_mapsize(handle, 0)
                remaps.add(1, ordering: .relaxed)
                var info = MDB_envinfo()
                mdb_env_info(handle, &info)
                currentMapSize.store(info.me_mapsize, ordering: .relaxed)
            }
            mapLock.lockRead()
            rc = mdb_txn_begin(handle, nil, flags, &txn)
        }
        try Environment.check(rc, "begin transaction", path)
        return Transaction(handle: txn!, path: path)
    }

    /// Turns an LMDB return code into a `StoreError`.
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String, _ path: String) throws {
        guard rc != 0 else { return }
        // LMDB reports a short write as EIO: at a full disk that is what a write gets.
        if rc == ENOSPC || rc == EDQUOT || (rc == EIO && freeBytes(path) < 1 << 20) {
            throw StoreError.diskFull(path: path)
        }
        throw StoreError.lmdb(code: rc, operation: operation(), path: path)
    }

    private static func freeBytes(_ path: String) -> Int {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return .max }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }
}

/// Tells when an environment has closed: LMDB must not open the same files twice in one
/// process, so a daemon reopening an index it let go of waits for this first.
public final class CloseSignal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func signal() { semaphore.signal() }

    /// Blocks until the environment has closed (at once if it has).
    public func wait() {
        semaphore.wait()
        semaphore.signal()  // stays signalled for the next waiter
    }

    /// Whether the environment has closed, without waiting.
    public var isClosed: Bool {
        guard semaphore.wait(timeout: .now()) == .success else { return false }
        semaphore.signal()
        return true
    }
}
