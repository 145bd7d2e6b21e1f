import JSONValue

/// A plan as the API shows it and cost models store it (snake_case names). Plans stored
/// before (inside cost models) used the Swift names (`graphDims`, `earlyExit`): still read.
extension SearchPlan: JSONRepresentable {
    public var json: JSON {
        var object: [String: JSON] = [
            "graph_dims": graphDims.map { JSON($0) } ?? .null,
            "ef": ef.map { JSON($0) } ?? .null,
            "stages": stages.json,
            "early_exit": JSON(earlyExit),
            "exact": .bool(exact),
        ]
        if let widen { object["widen"] = widen.json }  // only where it widens: other plans read as before
        if let filter { object["filter"] = filter.json }  // only answers to filtered searches have one
        return .object(object)
    }

    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: SearchPlan.self)
        self.init(graphDims: try fields.optional("graph_dims", formerly: "graphDims"), ef: try fields.optional("ef"),
                  stages: try fields["stages"], earlyExit: try fields.optional("early_exit", formerly: "earlyExit"),
                  exact: try fields["exact"], widen: try fields.optional("widen"))
        filter = try fields.optional("filter")
    }
}

extension SearchPlan.Widening: JSONRepresentable {
    public var json: JSON { ["ef": JSON(ef), "below": .number(below)] }

    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: SearchPlan.Widening.self)
        self.init(ef: try fields["ef"], below: try fields["below"])
    }
}

extension SearchPlan.Stage: JSONRepresentable {
    public var json: JSON { ["dims": JSON(dims), "keep": JSON(keep)] }

    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: SearchPlan.Stage.self)
        self.init(dims: try fields["dims"], keep: try fields["keep"])
    }
}
