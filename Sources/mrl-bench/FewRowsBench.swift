import ArgumentParser
import CBLAS
import CKernels
import Dispatch
import Foundation
import JSONValue
import Terminal

/// The encoder's product for a query's few tokens: the few-row kernel over weights packed once
/// against OpenBLAS's sgemm, which packs them on every call. The weights cycle through more
/// memory than the caches hold, as a daemon's do between queries.
struct FewRowsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "few-rows",
        abstract: "A query's linear products: the few-row kernel against OpenBLAS sgemm, one core.",
        discussion: """
            Times out[rows × outputs] = a · wᵀ for each row count, on one core, cycling through \
            --matrices weight matrices (1,536 × 384 by default, MiniLM's first feed-forward layer) \
            so that the weights come from memory. Reports microseconds per product, the weights' \
            read rate and the ratio to sgemm.
            """)

    @Option(help: "Row counts (tokens) to time, comma-separated.")
    var rows = IntList(argument: "1,4,8,10,16,24,32")!

    @Option(help: "Outputs of each product.")
    var outputs = 1536

    @Option(help: "Inputs of each product.")
    var inputs = 384

    @Option(help: "Distinct weight matrices to cycle through (24 × 2.4 MB is past any cache here).")
    var matrices = 24

    @Option(help: "Passes over all matrices per row count; the best is reported.")
    var repeats = 10

    @Flag(help: "Print results as JSON.")
    var json = false

    func run() throws {
        guard rows.values.allSatisfy({ $0 >= 1 }), outputs >= 1, inputs >= 1, matrices >= 1, repeats >= 1 else {
            throw ValidationError("--rows, --outputs, --inputs, --matrices and --repeats must be at least 1")
        }
        openblas_set_num_threads(1)
        let maxRows = rows.values.max() ?? 1
        /// Values in [-0.5, 0.5) that vary from element to element.
        func values(_ count: Int, seed: Int) -> [Float] { (0..<count).map { i in Float((i * 104_729 + seed) % 1000) / 1000 - 0.5 } }
        let a = values(maxRows * inputs, seed: 0)
        let weights = (0..<matrices).map { values(outputs * inputs, seed: $0 + 1) }
        let packed = weights.map { w in
            var p = [Float](repeating: 0, count: mrl_few_rows_packed_floats(outputs, inputs))
            mrl_few_rows_pack(w, outputs, inputs, &p)
            return p
        }
        var out = [Float](repeating: 0, count: maxRows * outputs)
        let panels = mrl_few_rows_panels(outputs)
        note("\(matrices) matrices of \(outputs) × \(inputs) (\(matrices * outputs * inputs * 4 / 1_000_000) MB), one core, few-row kernel \(String(cString: mrl_few_rows_isa()))")

        /// Best seconds per product over `repeats` passes through every matrix.
        func time(_ product: (Int) -> Void) -> Double {
            var best = Double.infinity
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                for m in 0..<matrices { product(m) }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(matrices))
            }
            return best
        }
        let results: [(rows: Int, few: Double, sgemm: Double)] = rows.values.map { r in
            let few = time { m in mrl_few_rows_gemm(a, packed[m], &out, r, 0, panels, outputs, inputs) }
            let sgemm = time { m in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r), Int32(outputs), Int32(inputs), 1, a, Int32(inputs),
                            weights[m], Int32(inputs), 0, &out, Int32(outputs))
            }
            return (r, few, sgemm)
        }
        let bytes = Double(outputs * inputs * 4)
        if json {
            printJSON(["outputs": JSON(outputs), "inputs": JSON(inputs), "kernels": .string(String(cString: mrl_few_rows_isa())),
                       "results": .array(results.map { ["rows": JSON($0.rows), "few_rows_us": .number($0.few * 1e6),
                                                         "sgemm_us": .number($0.sgemm * 1e6)] })])
            return
        }
        var table = Table(header: ["rows", "few-row µs", "weights GB/s", "sgemm µs", "few-row ÷ sgemm speed"], rightAligned: [0, 1, 2, 3, 4])
        for r in results {
            table.rows.append([String(r.rows), String(format: "%.1f", r.few * 1e6), String(format: "%.1f", bytes / r.few / 1e9),
                       String(format: "%.1f", r.sgemm * 1e6), String(format: "%.2f×", r.sgemm / r.few)])
        }
        print(table.render())
    }
}
