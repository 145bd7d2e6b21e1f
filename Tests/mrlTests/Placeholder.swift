import XCTest
final class PmrlTests: XCTestCase { func testNothing() {} }
