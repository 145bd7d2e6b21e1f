import JSONValue

// The cost model is stored with the index (meta `cost_model`) under the names Swift's
// Codable gave it; its plans and measurements in their API form (snake_case), which models
// stored before wrote in Swift's names: both are read.

extension CostModel: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: CostModel.self)
        k = try fields["k"]
        queries = try fields["queries"]
        graphBuiltAt = try fields["graphBuiltAt"]
        measuredAt = try fields["measuredAt"]
        measurements = try fields["measurements"]
        // Models stored before presets existed get the built-in ones from their measurements.
        presets = try fields.optional("presets") ?? Preset.chosen(for: Preset.builtInGoals, from: measurements)
        machine = try fields.optional("machine")
        querySource = try fields.optional("querySource")
        heldOut = try fields.optional("heldOut") ?? 0
    }

    public var json: JSON {
        .object(dropping: ["k": JSON(k), "queries": JSON(queries), "graphBuiltAt": .string(graphBuiltAt),
                           "measuredAt": .string(measuredAt), "measurements": measurements.json,
                           "presets": presets.json, "machine": machine?.json,
                           "querySource": querySource.map(JSON.string), "heldOut": heldOut > 0 ? JSON(heldOut) : nil])
    }
}

extension PlanMeasurement: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: PlanMeasurement.self)
        self.init(plan: try fields["plan"], recall: try fields["recall"], meanMs: try fields["mean_ms", formerly: "meanMs"],
                  p50Ms: try fields["p50_ms", formerly: "p50Ms"], p99Ms: try fields["p99_ms", formerly: "p99Ms"],
                  meanDistanceComputations: try fields["mean_distance_computations", formerly: "meanDistanceComputations"],
                  recallStandardError: try fields.optional("recall_standard_error") ?? 0)
    }

    /// The measurement as `mrl graph --json` and `mrl tune --json` show it.
    public var json: JSON {
        ["plan": plan.json, "recall": .number(recall), "mean_ms": .number(meanMs), "p50_ms": .number(p50Ms),
         "p99_ms": .number(p99Ms), "mean_distance_computations": .number(meanDistanceComputations),
         "recall_standard_error": .number(recallStandardError)]
    }
}

extension Preset: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: Preset.self)
        self.init(name: try fields["name"], goal: try fields["goal"], measurement: try fields["measurement"])
    }

    public var json: JSON { ["name": .string(name), "goal": goal.json, "measurement": measurement.json] }
}

extension Preset.Goal: JSONRepresentable {
    /// `{"recall": {"_0": 0.95}}` or `{"budget": {"_0": 2}}`: the shape Codable gave an enum
    /// case with an unnamed value.
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: Preset.Goal.self)
        if let recall = fields.members["recall"] {
            self = .recall(try JSONFields(recall, of: Preset.Goal.self)["_0"])
        } else if let budget = fields.members["budget"] {
            self = .budget(try JSONFields(budget, of: Preset.Goal.self)["_0"])
        } else {
            throw JSONDecodingError(record: "Preset.Goal", problem: "expected a \"recall\" or \"budget\" field")
        }
    }

    public var json: JSON {
        switch self {
        case .recall(let recall): ["recall": ["_0": .number(recall)]]
        case .budget(let ms): ["budget": ["_0": .number(ms)]]
        }
    }
}

extension MachineFingerprint: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: MachineFingerprint.self)
        cpu = try fields["cpu"]
        cores = try fields["cores"]
        kernels = try fields["kernels"]
    }

    public var json: JSON { ["cpu": .string(cpu), "cores": JSON(cores), "kernels": .string(kernels)] }
}
