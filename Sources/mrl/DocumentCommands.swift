import ArgumentParser
import Engine
import Foundation

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a stored document by id.")

    @OptionGroup var target: IndexOptions

    @Argument(help: "The document's id.")
    var id: String

    func run() throws {
        guard let document = try target.service().documentJSON(id: id) else {
            throw EngineError.invalidRequest(field: "id", message: "no document \"\(id)\" in index \"\(target.index)\"")
        }
        print(document.serialized)
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete documents by id (vector, text and key, in one transaction).")

    @OptionGroup var target: IndexOptions

    @Argument(help: "Ids of the documents to delete.")
    var ids: [String]

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one document id") }
    }

    func run() throws {
        let deleted = try target.service(writing: true).delete(ids: ids)
        print("deleted \(deleted) of \(ids.count) documents from \(target.index)")
    }
}

struct DropCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop", abstract: "Delete a whole index and its files.",
        discussion: "With a daemon running (on the default socket, or --socket), the daemon drops it: writes waiting for it fail, the one in flight finishes first.")

    @OptionGroup var target: IndexOptions

    @Flag(help: "Confirm: the index cannot be recovered afterwards.")
    var yes = false

    func validate() throws {
        guard yes else { throw ValidationError("dropping deletes index \"\(target.index)\" for good: add --yes to confirm") }
    }

    func run() throws {
        // A daemon serving the index holds its writer lock: it drops the index itself.
        try target.catalog().drop(target.index)
        print("dropped \(target.index)")
    }
}
