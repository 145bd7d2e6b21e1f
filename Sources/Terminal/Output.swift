import Foundation
import JSONValue

/// Prints a JSON value on standard output, keys sorted so output diffs cleanly.
package func printJSON(_ value: JSON) {
    print(value.serialized)
}

/// Writes a line to standard error.
package func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
