import Embedding

/// What a change of head did, as `mrl head --json` prints it and `PUT /indexes/{name}/head` answers.
extension HeadChange {
    public var json: JSON {
        .object([
            "kind": .string(kind.rawValue), "version": version.json, "samples": JSON(samples), "documents": JSON(documents),
            "seconds": .number(seconds),
            "variance_in_prefix": .object(Dictionary(uniqueKeysWithValues: varianceInPrefix.map { ("\($0.dims)", JSON.number($0.share)) })),
            "training": training.map { ["steps": JSON($0.steps), "initial_loss": .number($0.initialLoss),
                                        "final_loss": .number($0.finalLoss), "seconds": .number($0.seconds)] } ?? .null,
            "distilled_from": JSON(distilledFrom), "queries_source": JSON(queriesSource),
            "choice": choice.map { choice in
                ["prefix": JSON(choice.prefix), "held_out": JSON(choice.heldOut),
                 "shortlists": .object(Dictionary(uniqueKeysWithValues: choice.shortlists.map { ($0.kind.rawValue, JSON($0.shortlist)) }))]
            } ?? .null,
            "fallback": JSON(fallback),
        ])
    }

    /// Reads what `json` gives back (nil when it is not a change of head); training reports
    /// stay behind, since only an installed head comes back this way.
    public init?(json: JSON) {
        guard let kind = json["kind"]?.string.flatMap(MatryoshkaHead.Kind.init(rawValue:)),
              let version = json["version"]?.int64.flatMap(UInt32.init(exactly:)),
              let samples = json["samples"]?.int, let documents = json["documents"]?.int, let seconds = json["seconds"]?.number
        else { return nil }
        let shares = (json["variance_in_prefix"]?.object ?? [:]).compactMap { key, value in Int(key).flatMap { dims in value.number.map { (dims, $0) } } }
        self.init(kind: kind, version: version, samples: samples, documents: documents, varianceInPrefix: shares.sorted { $0.0 < $1.0 },
                  training: nil, fallback: json["fallback"]?.string, seconds: seconds)
    }
}
