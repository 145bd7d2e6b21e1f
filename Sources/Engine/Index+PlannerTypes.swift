import Search

extension Index {
    /// The plans of an index measured for its planner, and the presets chosen from them
    /// (Search's types, named here so that commands need only Engine).
    public typealias CostModel = Search.CostModel
    public typealias Preset = Search.Preset
}
