import XCTest
final class PStoreTests: XCTestCase { func testNothing() {} }
