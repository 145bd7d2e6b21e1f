import XCTest
final class PSearchTests: XCTestCase { func testNothing() {} }
