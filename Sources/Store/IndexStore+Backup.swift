import CLMDB
import Foundation

extension IndexStore {
    /// Writes a compacted copy of the committed state into the new folder `directory` (LMDB's
    /// `mdb_env_copy2` with `MDB_CP_COMPACT`: free pages left out), while readers and the
    /// writer go on. The copy is made in a sibling folder and renamed into place, so a
    /// crash leaves no half copy under the name. Returns its size in bytes.
    /// Throws `indexExists` if `directory` exists, `diskFull`, `lmdb`.
    public func copy(to directory: String) throws -> Int {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory) else { throw StoreError.indexExists(path: directory) }
        try IndexStore.buildInPlace(directory, stage: "copying") { building in try env.copy(to: building) }
        let attributes = try? fm.attributesOfItem(atPath: directory + "/data.mdb")
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Removes the index's folder. Only for a store open for writing (its writer lock keeps
    /// other writers out meanwhile); readers still holding the map go on reading it.
    public func removeFiles() throws {
        guard isWriter else { throw StoreError.readOnly(path: directory, operation: "drop the index") }
        try FileManager.default.removeItem(atPath: directory)
    }
}
