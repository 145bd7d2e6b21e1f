import Foundation

/// Why the model could not be loaded. Every message names the file and says what to do.
public enum EncoderError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String)
    case badConfig(path: String, detail: String)
    case badWeights(path: String, detail: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "model file \(path) is missing: run `make setup` to install the model"
        case .badConfig(let path, let detail):
            return "model config \(path) is unusable (\(detail)): run `make setup` to reinstall the model"
        case .badWeights(let path, let detail):
            return "model weights \(path) are unusable (\(detail)): run `make setup` to reinstall the model"
        }
    }
}

extension EncoderError: LocalizedError {
    public var errorDescription: String? { description }
}
