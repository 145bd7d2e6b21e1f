// The JSON type is part of Engine's API (search answers, index reports, documents' meta):
// whoever imports Engine gets it, as before it had a module of its own.
@_exported import JSONValue
