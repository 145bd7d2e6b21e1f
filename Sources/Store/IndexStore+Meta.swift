import JSONValue

extension IndexStore {
    /// Stores and removes several `meta` entries (JSON values) in one transaction.
    public func updateMeta<Value: JSONRepresentable>(put: [(key: String, value: Value)], delete: [String] = []) throws {
        let encoded = put.map { (Array($0.key.utf8), $0.value.json.bytes) }
        try env.write { txn in
            for (key, value) in encoded { try txn.put(meta, key, value) }
            for key in delete { _ = try txn.delete(meta, Array(key.utf8)) }
        }
    }
}

extension Snapshot {
    /// Every `meta` entry whose key starts with `prefix`, decoded as `Value` (entries that do
    /// not decode are left out), in key order.
    public func metaEntries<Value: JSONRepresentable>(prefix: String, as type: Value.Type) throws -> [(key: String, value: Value)] {
        let start = Array(prefix.utf8)
        var entries: [(String, Value)] = []
        try txn.scan(store.meta, from: start) { key, value in
            guard key.starts(with: start) else { return false }
            if let decoded = try? Value(json: JSON.parse(value)) {
                entries.append((String(decoding: key, as: UTF8.self), decoded))
            }
            return true
        }
        return entries
    }
}
