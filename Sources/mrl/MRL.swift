import ArgumentParser
import Engine
import Foundation

@main
struct MRL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mrl",
        abstract: "Matryoshka-embedding vector search: index documents, search them by meaning.",
        discussion: """
            Indexes live in --data (default: indexes/, or $MRL_DATA), one LMDB environment per index. \
            Start with:  mrl index --index NAME docs.jsonl   then   mrl search --index NAME "a question"
            """,
        subcommands: [IndexCommand.self, SearchCommand.self, EvalCommand.self, HeadCommand.self, GraphCommand.self, EmbedCommand.self, InfoCommand.self, ListCommand.self, QueriesCommand.self,
                      GetCommand.self, DeleteCommand.self, DropCommand.self, TuneCommand.self, ServeCommand.self, RestoreCommand.self])

    /// `$MRL_ISA` and `$MRL_ENCODER_THREADS` are checked before any command runs (see `Kernels.environmentProblem`).
    static func main() {
        if let problem = Kernels.environmentProblem { exit(withError: ValidationError(problem)) }
        main(nil)
    }
}
