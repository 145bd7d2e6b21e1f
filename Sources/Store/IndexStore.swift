import CLMDB
import Foundation
import JSONValue
import Synchronization

/// One index on disk: an LMDB environment in its own directory, with named databases
///
/// | database | key → value |
/// |---|---|
/// | `meta`   | "manifest" → `Manifest` JSON; "next_id" → u32; "head", "head_pending" → `HeadRecord` JSON; "head_matrix/V" → floats |
/// | `docs`   | internal id (u32 BE) → `DocumentRecord` |
/// | `keys`   | external id (UTF-8) → internal id (u32 LE) |
/// | `blocks` | (kind, block) → vector segments, norms, live bytes; (head version, kind, block) → a head's copy (`VectorBlocks`) |
/// | `free`   | internal id (u32 BE) → empty: ids freed by deletes, reused first |
/// | `graph`  | (0, block u32 BE) → the ANN graph's level-0 rows; (1) → its upper levels (`GraphRecord`) |
/// | `queries` | slot u32 BE → a logged query (`LoggedQuery`); its state is meta "query_log" |
///
/// ```swift
/// let store = try IndexStore.create(directory: "indexes/notes", manifest: manifest)
/// let report = try store.upsert(batch)          // one durable transaction
/// let hit = try store.read { try $0.document(id: "a") }
/// ```
public final class IndexStore: @unchecked Sendable {  // immutable but for Mutexes; Environment is thread-safe
    public let directory: String
    public let manifest: Manifest
    let env: Environment
    let meta: MDB_dbi, docs: MDB_dbi, keys: MDB_dbi, blocks: MDB_dbi, free: MDB_dbi
    /// The ANN graph's database; nil in an index made before it existed, opened read-only.
    let graph: MDB_dbi?
    /// The query log's database; nil in an index made before it existed, opened read-only.
    let queries: MDB_dbi?
    /// What is derived from the documents (`DocumentIndex`): those this index has.
    let documentIndexes: [any DocumentIndex]
    /// Taken on open for writing, or later by `takeWriterLock` (a daemon that opened the
    /// index while another process wrote it).
    private let writerLock: Mutex<WriterLock?>
    /// Block pointers per space of the last committed state read (see `Snapshot.vectorBlocks`).
    let blockDirectories = Mutex<[VectorSpace: BlockDirectory]>([:])

    public enum Mode: Sendable { case read, write }

    public struct Options: Sendable {
        /// The memory map (and so the data file) never grows past this many bytes.
        public var mapSizeCap: Int
        public init(mapSizeCap: Int = 256 << 30) { self.mapSizeCap = mapSizeCap }
    }

    static let databaseNames = ["meta", "docs", "keys", "blocks", "free"]

    /// Longest document id in bytes of UTF-8: ids are LMDB keys, which LMDB caps at 511.
    public static let maxIDBytes = 511
    /// Added after format 1's first indexes: created when such an index is opened for writing.
    static let graphDatabase = "graph"
    static let queriesDatabase = "queries"
    /// Every named database, those added later included.
    static let maxDatabases = databaseNames.count + 2 + documentIndexDatabaseNames.count

    /// True when `directory` holds an index.
    public static func exists(directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/data.mdb")
    }

    /// Creates a new index in `directory` and opens it for writing. The index is built in a
    /// sibling folder and renamed into place once its manifest is committed, so a crash
    /// during creation leaves either no index or a complete one.
    /// Throws `indexExists` if one is there (or another process created it first).
    public static func create(directory: String, manifest: Manifest, options: Options = Options()) throws -> IndexStore {
        try buildInPlace(directory, stage: "creating") { building in
            let env = try Environment(directory: building, maxDatabases: maxDatabases,
                                      mapSizeCap: options.mapSizeCap, readOnly: false)
            try env.openDatabases(databaseNames + [graphDatabase, queriesDatabase] + documentIndexDatabaseNames, create: true) { txn, dbis in
                try txn.put(dbis[0], Array("manifest".utf8), manifest.json.bytes)
                for type in documentIndexTypes { try txn.put(dbis[0], builtKey(type), []) }
            }
        }  // the environment is closed when `body` returns, before the rename
        return try open(directory: directory, mode: .write, options: options)
    }

    /// Makes index folder `directory` all at once: `body` fills a sibling folder
    /// (`directory.STAGE-PID`), which is then renamed into place, so a crash leaves no half
    /// index under the name. Throws `indexExists` if `directory` is there.
    static func buildInPlace(_ directory: String, stage: String, _ body: (String) throws -> Void) throws {
        let fm = FileManager.default
        guard !exists(directory: directory) else { throw StoreError.indexExists(path: directory) }
        let building = directory + ".\(stage)-\(getpid())"
        try? fm.removeItem(atPath: building)
        do {
            try fm.createDirectory(atPath: building, withIntermediateDirectories: true)
        } catch {
            throw StoreError.lmdb(code: EACCES, operation: "create directory", path: building)
        }
        defer { try? fm.removeItem(atPath: building) }
        try body(building)
        guard rename(building, directory) == 0 else {
            if errno == ENOTEMPTY || errno == EEXIST { throw StoreError.indexExists(path: directory) }
            throw StoreError.lmdb(code: errno, operation: "rename into place", path: directory)
        }
    }

    /// Opens an existing index. `.write` takes the writer lock (one writing process per index).
    /// Throws `indexNotFound`, `busyWriter`, `newerFormat` or `corrupt`.
    public static func open(directory: String, mode: Mode, options: Options = Options()) throws -> IndexStore {
        guard exists(directory: directory) else { throw StoreError.indexNotFound(path: directory) }
        let lock = mode == .write ? try WriterLock(directory: directory) : nil
        let env = try Environment(directory: directory, maxDatabases: maxDatabases,
                                  mapSizeCap: options.mapSizeCap, readOnly: false)
        let dbis = try env.openDatabases(databaseNames, create: false)
        let later = { (name: String) throws -> MDB_dbi? in
            mode == .write ? try env.openDatabases([name], create: true)[0] : try? env.openDatabases([name], create: false)[0]
        }
        let graph = try later(graphDatabase), queries = try later(queriesDatabase)
        let (documentIndexes, unbuilt) = try openDocumentIndexes(env: env, meta: dbis[0], mode: mode)
        let manifest = try env.read { txn -> Manifest in
            guard let raw = try txn.get(dbis[0], Array("manifest".utf8)) else {
                throw StoreError.corrupt(path: directory, detail: "no manifest")
            }
            // A newer format may have changed any other field: its number is checked first.
            if let format = (try? JSON.parse(raw))?["format"]?.int, format > Manifest.currentFormat {
                throw StoreError.newerFormat(path: directory, found: format, supported: Manifest.currentFormat)
            }
            let manifest: Manifest = try decode(raw, as: "manifest", in: directory)
            if let problem = manifest.problem { throw StoreError.corrupt(path: directory, detail: "manifest: \(problem)") }
            return manifest
        }
        let store = IndexStore(directory: directory, manifest: manifest, env: env, dbis: dbis, graph: graph, queries: queries,
                               documentIndexes: documentIndexes, lock: lock)
        try store.build(unbuilt)
        return store
    }

    private init(directory: String, manifest: Manifest, env: Environment, dbis: [MDB_dbi], graph: MDB_dbi?, queries: MDB_dbi?,
                 documentIndexes: [any DocumentIndex], lock: WriterLock?) {
        self.directory = directory
        self.manifest = manifest
        self.env = env
        (meta, docs, keys, blocks, free) = (dbis[0], dbis[1], dbis[2], dbis[3], dbis[4])
        self.graph = graph
        self.queries = queries
        self.documentIndexes = documentIndexes
        writerLock = Mutex(lock)
    }

    /// Runs `body` on a consistent snapshot; a concurrent writer does not disturb it.
    public func read<T>(_ body: (Snapshot) throws -> T) throws -> T {
        try env.read { try body(Snapshot(store: self, txn: $0)) }
    }

    /// Size of the data file and of the part of it in use, in bytes.
    public func diskUsage() throws -> (fileBytes: Int, usedBytes: Int) {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env.handle, &info)
        mdb_env_stat(env.handle, &stat)
        let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")
        let fileBytes = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        return (fileBytes, (info.me_last_pgno + 1) * Int(stat.ms_psize))
    }

    /// Whether this process holds the index's writer lock.
    public var isWriter: Bool { writerLock.withLock { $0 != nil } }

    /// Takes the writer lock now, if this store was opened for reading; the same environment
    /// then writes (LMDB must not be opened twice in one process, so no second store).
    /// Throws `busyWriter` naming the process that holds it.
    public func takeWriterLock() throws {
        try writerLock.withLock { lock in
            guard lock == nil else { return }
            let taken = try WriterLock(directory: directory)
            try unmarkDocumentIndexesNotKept()
            lock = taken
        }
    }

    /// Whether the files this store has open are still the ones at `directory`: false once
    /// another process dropped the index, or restored a backup in its place. One fstat and
    /// one stat; the open file keeps its inode number from being reused meanwhile.
    public var isStillOnDisk: Bool {
        var fd: Int32 = -1
        var opened = stat(), current = stat()
        guard mdb_env_get_fd(env.handle, &fd) == 0, fstat(fd, &opened) == 0,
              stat(directory + "/data.mdb", &current) == 0 else { return false }
        return opened.st_dev == current.st_dev && opened.st_ino == current.st_ino
    }

    /// Signalled once this store's environment has closed (its last user let go).
    public var closeSignal: CloseSignal { env.closed }

    /// Current size of the memory map in bytes (grows on demand up to the cap).
    public var mapSize: Int { env.mapSize }

}
