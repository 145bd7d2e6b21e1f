// The JSON type is part of Engine's API (search answers, index reports, documents' meta):
// whoever imports Engine gets it, as before it had a module of its own.
@_exported import JSONValue
// An index's precision is part of its API too (`mrl index --precision`, `PUT /indexes/{name}`).
@_exported import enum Embedding.Precision
