import ArgumentParser
import Foundation
import Search

@main
struct MRL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mrl",
        abstract: "Matryoshka-embedding vector search: index documents, search them by meaning.",
        discussion: """
            Indexes live in --data (default: indexes/, or $MRL_DATA), one LMDB environment per index.
            Start with:  mrl index --index NAME docs.jsonl   then   mrl search --index NAME "a question"
            """,
        subcommands: [IndexCommand.self, SearchCommand.self, EvalCommand.self, HeadCommand.self, GraphCommand.self, EmbedCommand.self, InfoCommand.self, ListCommand.self,
                      GetCommand.self, DeleteCommand.self, DropCommand.self, TuneCommand.self, ServeCommand.self, RestoreCommand.self, BenchCommand.self])

    /// `MRL_ISA` is read by the kernels on their first use, below any command's options, so it
    /// is checked here, before a command runs: a misspelt cap would silently mean generic code.
    static func main() {
        if let isa = ProcessInfo.processInfo.environment["MRL_ISA"], !isa.isEmpty, !ExactSearch.kernelVariants.contains(isa) {
            exit(withError: ValidationError("MRL_ISA=\(isa) is not an instruction set mrl knows: use one of \(ExactSearch.kernelVariants.joined(separator: ", ")), or unset it"))
        }
        main(nil)
    }
}
