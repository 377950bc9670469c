import XCTest
import TestSupport

final class ServeCommandTests: XCTestCase {
    func testHelpListsServe() throws {
        let run = try ZeroshotProcess.run(["serve", "--help"])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("--port"), run.stdout)
    }
}
