import JSONValue

// How the records in `meta` are stored: the field names are the ones Swift's Codable wrote
// (camelCase) since the first index, so indexes written before read the same, and optional
// fields are left out when nil, as Codable did.

extension Manifest: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: Manifest.self)
        format = try fields["format"]
        dimensions = try fields["dimensions"]
        vectorType = try fields["vectorType"]
        blockRows = try fields["blockRows"]
        segmentBoundaries = try fields["segmentBoundaries"]
        model = try fields.optional("model")
        createdAt = try fields["createdAt"]
    }

    public var json: JSON {
        .object(dropping: ["format": JSON(format), "dimensions": JSON(dimensions), "vectorType": .string(vectorType),
                           "blockRows": JSON(blockRows), "segmentBoundaries": segmentBoundaries.json,
                           "model": model?.json, "createdAt": .string(createdAt)])
    }
}

extension ModelIdentity: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: ModelIdentity.self)
        self.init(name: try fields["name"], fingerprint: try fields["fingerprint"], precision: try fields.optional("precision") ?? "fp32")
    }

    public var json: JSON { ["name": .string(name), "fingerprint": .string(fingerprint), "precision": .string(precision)] }
}

extension HeadRecord: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: HeadRecord.self)
        kind = try fields["kind"]
        version = try fields["version"]
        fittedOn = try fields["fittedOn"]
        automatic = try fields["automatic"]
        model = try fields.optional("model")
        chosenOnLog = try fields.optional("chosenOnLog")
        createdAt = try fields["createdAt"]
    }

    public var json: JSON {
        .object(dropping: ["kind": .string(kind), "version": version.json, "fittedOn": JSON(fittedOn),
                           "automatic": .bool(automatic), "model": model.map(JSON.string), "chosenOnLog": chosenOnLog.map { JSON($0) },
                           "createdAt": .string(createdAt)])
    }
}

extension GraphRecord: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: GraphRecord.self)
        dims = try fields["dims"]
        m = try fields["m"]
        efConstruction = try fields["efConstruction"]
        encoding = try fields["encoding"]
        headVersion = try fields["headVersion"]
        nodes = try fields["nodes"]
        buildSeconds = try fields["buildSeconds"]
        builtAt = try fields["builtAt"]
        guidance = try fields.optional("guidance")
        guidedBy = try fields.optional("guidedBy") ?? 0
        queryLinks = try fields.optional("queryLinks") ?? 0
        logSeen = try fields.optional("logSeen") ?? 0
    }

    public var json: JSON {
        .object(dropping: [
            "dims": JSON(dims), "m": JSON(m), "efConstruction": JSON(efConstruction), "encoding": .string(encoding),
            "headVersion": headVersion.json, "nodes": JSON(nodes), "buildSeconds": .number(buildSeconds), "builtAt": .string(builtAt),
            "guidance": guidance.map(JSON.string), "guidedBy": JSON(guidedBy), "queryLinks": JSON(queryLinks), "logSeen": JSON(logSeen),
        ])
    }
}

extension IndexStore {
    /// A stored record read back; one that does not read is damage, reported with what is
    /// wrong and where ("unreadable graph record: GraphRecord field m: missing").
    static func decode<Record: JSONRepresentable>(_ raw: some Collection<UInt8>, as name: String, in directory: String) throws -> Record {
        do {
            return try Record(json: try JSON.parse(raw))
        } catch {
            throw StoreError.corrupt(path: directory, detail: "unreadable \(name): \(error)")
        }
    }
}
