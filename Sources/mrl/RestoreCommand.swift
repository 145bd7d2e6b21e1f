import ArgumentParser
import Engine
import Foundation

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring an index back from a backup made by the daemon (POST /indexes/NAME/backup).",
        discussion: """
            Backups live in backups/ inside the data folder. The index must not be open for writing: \
            stop the daemon (or anything writing the index) first; a daemon that only reads it serves the \
            restored index from its next request. An existing index of that name is replaced, durably: \
            the copy is on disk before the old index is removed.
            Examples:
              mrl restore --list
              mrl restore --index debian --from debian-20261125T031500Z
            """)

    @Option(help: "Name of the index to restore into.")
    var index: String?

    @Option(help: "Backup name (as listed by --list) or the path of a backup folder.")
    var from: String?

    @Option(help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Flag(help: "List the backups present.")
    var list = false

    func validate() throws {
        guard list || (index != nil && from != nil) else { throw ValidationError("give --index and --from, or --list") }
    }

    func run() throws {
        let directory = DataDirectory(path: data)
        if list {
            let names = directory.backupNames()
            print(names.isEmpty ? "no backups in \(directory.backupsPath)" : names.joined(separator: "\n"))
            return
        }
        try directory.restore(index!, from: from!)
        print("restored \(index!) from \(from!)")
    }
}
