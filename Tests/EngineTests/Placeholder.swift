import XCTest
final class PEngineTests: XCTestCase { func testNothing() {} }
