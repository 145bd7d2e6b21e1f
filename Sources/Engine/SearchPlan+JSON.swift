import Search

extension SearchPlan {
    /// The plan as the API shows it (snake_case names), built directly: every search answer
    /// carries one, so it skips the `[String: Any]` detour.
    public var json: JSON {
        .object([
            "graph_dims": graphDims.map { .number(Double($0)) } ?? .null,
            "ef": ef.map { .number(Double($0)) } ?? .null,
            "stages": .array(stages.map { .object(["dims": .number(Double($0.dims)), "keep": .number(Double($0.keep))]) }),
            "early_exit": earlyExit.map { .number($0) } ?? .null,
            "exact": .bool(exact),
        ])
    }
}
