import ArgumentParser
import Engine
import Foundation
import Search
import Store
import Terminal

struct ScanBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Ingest rate, memory bandwidth, and exact prefix-scan latency on reference vectors.",
        discussion: """
            Loads precomputed vectors (.npy, float16 or float32), ingests them into a fresh index in a \
            temporary folder at each batch size, then runs one query at a time (as a daemon serves \
            them) through the full search path at each prefix and thread count. The defaults read the \
            Debian reference embeddings in ../shared/data.
            """)

    @Option(help: "Document vectors (.npy).")
    var vectors = "../shared/data/minilm-debian-docs.f16.npy"

    @Option(help: "Query vectors (.npy).")
    var queries = "../shared/data/minilm-debian-titles.f16.npy"

    @Option(help: "How many queries to time.")
    var queryCount = 1000

    @Option(help: "Prefix dimensions to scan, comma-separated.")
    var dims = IntList(argument: "32,64,128,256,384")!

    @Option(help: "Thread counts, comma-separated.")
    var threads = IntList(argument: "1,2")!

    @Option(help: "Ingest batch sizes, comma-separated.")
    var batchSizes = IntList(argument: "100,1000,10000")!

    @Option(help: "Results per query.")
    var k = 10

    @Flag(help: "Print results as JSON.")
    var json = false

    func run() throws {
        for path in [vectors, queries] where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) not found: this benchmark reads the reference vectors in ../shared/data (pass --vectors and --queries to use others)")
        }
        let corpus = try NumpyMatrix(contentsOf: vectors)
        let queryMatrix = try NumpyMatrix(contentsOf: queries)
        let folder = NSTemporaryDirectory() + "mrl-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = DataDirectory(path: folder)
        note("\(corpus.rows) × \(corpus.columns) vectors, \(min(queryCount, queryMatrix.rows)) queries, kernels \(ExactSearch.kernelISA)")

        var ingestRows: [IngestRow] = []
        var index: Index?
        for batch in batchSizes.values {
            let name = "b\(batch)"
            let fresh = try Index.create(name: name, in: data, dimensions: corpus.columns, model: nil)
            let start = Date()
            for first in stride(from: 0, to: corpus.rows, by: batch) {
                let docs = (first..<min(first + batch, corpus.rows)).map { DocumentInput(id: "r\($0)", vector: corpus.row($0)) }
                _ = try fresh.upsert(docs)
            }
            let seconds = Date().timeIntervalSince(start)
            let megabytes = Double(corpus.rows * corpus.columns * 4) / 1e6
            ingestRows.append(IngestRow(batchSize: batch, seconds: seconds, vectorsPerSecond: Double(corpus.rows) / seconds,
                                        megabytesPerSecond: megabytes / seconds))
            note("ingest batch \(batch): \(Int(Double(corpus.rows) / seconds)) vectors/s")
            index = fresh
        }
        let bandwidth = Dictionary(uniqueKeysWithValues: threads.values.map { ($0, MemoryBandwidth.measure(threads: $0)) })

        var scanRows: [ScanRow] = []
        let searchIndex = index!
        let timed = (0..<min(queryCount, queryMatrix.rows)).map(queryMatrix.row)
        for t in threads.values {
            searchIndex.scanThreads = t
            for d in dims.values where d <= corpus.columns {
                let request = { (q: [Float]) in SearchRequest(vector: q, k: k, dims: d) }
                for q in timed.prefix(50) { _ = try searchIndex.search(request(q)) }  // warm the page cache
                var latencies: [Double] = []
                var bytes = 0
                for q in timed {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let result = try searchIndex.search(request(q))
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    bytes = result.bytesTouched
                }
                latencies.sort()
                let mean = latencies.reduce(0, +) / Double(latencies.count)
                let gbps = Double(bytes) / (mean / 1e3) / 1e9
                scanRows.append(ScanRow(threads: t, dims: d, meanMs: mean, p50Ms: latencies[latencies.count / 2],
                                        p99Ms: latencies[latencies.count * 99 / 100], gbPerSecond: gbps,
                                        fractionOfBandwidth: gbps * 1e9 / bandwidth[t]!))
            }
        }

        let report: JSON = [
            "vectors": JSON(corpus.rows), "dimensions": JSON(corpus.columns), "queries": JSON(timed.count), "k": JSON(k),
            "kernels": .string(ExactSearch.kernelISA), "ingest": .array(ingestRows.map(\.json)),
            "read_bandwidth_gb_per_s": .object(Dictionary(uniqueKeysWithValues: bandwidth.map { ("\($0.key)", .number($0.value / 1e9)) })),
            "scan": .array(scanRows.map(\.json)),
        ]
        if json { printJSON(report) } else { printTables(ingestRows, bandwidth, scanRows) }
    }

    private struct IngestRow {
        var batchSize: Int, seconds: Double, vectorsPerSecond: Double, megabytesPerSecond: Double
        var json: JSON {
            ["batch_size": JSON(batchSize), "seconds": .number(seconds), "vectors_per_s": .number(vectorsPerSecond),
             "mb_per_s": .number(megabytesPerSecond)]
        }
    }

    private struct ScanRow {
        var threads: Int, dims: Int, meanMs: Double, p50Ms: Double, p99Ms: Double, gbPerSecond: Double, fractionOfBandwidth: Double
        var json: JSON {
            ["threads": JSON(threads), "dims": JSON(dims), "mean_ms": .number(meanMs), "p50_ms": .number(p50Ms),
             "p99_ms": .number(p99Ms), "gb_per_s": .number(gbPerSecond), "fraction_of_bandwidth": .number(fractionOfBandwidth)]
        }
    }

    private func printTables(_ ingest: [IngestRow], _ bandwidth: [Int: Double], _ scan: [ScanRow]) {
        var table = Table(header: ["batch", "vectors/s", "MB/s"], rightAligned: [0, 1, 2])
        for row in ingest {
            table.rows.append(["\(row.batchSize)", String(format: "%.0f", row.vectorsPerSecond), String(format: "%.1f", row.megabytesPerSecond)])
        }
        print("ingest (precomputed vectors into LMDB)\n" + table.render() + "\n")
        print("read bandwidth: " + bandwidth.keys.sorted().map { String(format: "%d thread(s) %.1f GB/s", $0, bandwidth[$0]! / 1e9) }.joined(separator: ", ") + "\n")
        var scanTable = Table(header: ["threads", "dims", "mean ms", "p50 ms", "p99 ms", "GB/s", "of bandwidth"], rightAligned: Set(0..<7))
        for row in scan {
            scanTable.rows.append(["\(row.threads)", "\(row.dims)", String(format: "%.3f", row.meanMs), String(format: "%.3f", row.p50Ms),
                                   String(format: "%.3f", row.p99Ms), String(format: "%.1f", row.gbPerSecond),
                                   String(format: "%.0f%%", 100 * row.fractionOfBandwidth)])
        }
        print("exact scan, one query at a time, k=\(k)\n" + scanTable.render())
    }
}
