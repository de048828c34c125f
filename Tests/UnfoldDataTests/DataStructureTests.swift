import XCTest
@testable import UnfoldData

final class DataStructureTests: XCTestCase {
    func testCSRSumsDuplicatesAndSortsRows() {
        let m = CSRMatrix(rows: 3, cols: 4, rowIndex: [0, 2, 0, 0, 2], colIndex: [3, 1, 1, 3, 0], values: [1, 2, 3, 4, 5])
        XCTAssertEqual(m.indptr, [0, 2, 2, 4])
        XCTAssertEqual(m.indices, [1, 3, 0, 1])
        XCTAssertEqual(m.values, [3, 5, 5, 2])
        let t = m.transposed()
        XCTAssertEqual(t.rows, 4)
        XCTAssertEqual(t.indptr, [0, 1, 3, 3, 4])
        XCTAssertEqual(t.indices, [2, 0, 2, 0])
        XCTAssertEqual(t.values, [5, 3, 2, 5])
        XCTAssertEqual(t.transposed(), m)
    }

    func testIDMap() {
        var map = IDMap()
        XCTAssertEqual(map.intern("b"), 0)
        XCTAssertEqual(map.intern("a"), 1)
        XCTAssertEqual(map.intern("b"), 0)
        XCTAssertEqual(map.index(of: "a"), 1)
        XCTAssertNil(map.index(of: "c"))
        XCTAssertEqual(map[1], "a")
    }

    func makeData() -> Interactions {
        var data = Interactions(hasTimestamps: true)
        for u in 0..<20 {
            for j in 0..<10 { data.append(user: "u\(u)", item: "i\((u + j) % 15)", weight: 1, timestamp: Double(100 * j + u)) }
        }
        data.append(user: "lonely", item: "i0", weight: 1, timestamp: 0)
        return data
    }

    func testTemporalSplitHoldsOutEachUsersLatest() throws {
        let data = makeData()
        let (train, test) = try Splitter.split(data, .temporal(testFraction: 0.2))
        XCTAssertEqual(train.count + test.count, data.count)
        XCTAssertEqual(test.count, 20 * 2, "2 of 10 per user; a user with one interaction keeps it in train")
        for k in 0..<test.count {
            let user = test.userIndex[k]
            let latestTrain = (0..<train.count).filter { train.userIndex[$0] == user }.map { train.timestamps![$0] }.max()!
            XCTAssertGreaterThan(test.timestamps![k], latestTrain)
        }
        XCTAssertEqual(train.users, data.users)
        // ⌊0.2 · 13⌋ = 2 held out (not 3 by rounding); ⌊0.2 · 3⌋ = 0 still holds out one.
        var uneven = Interactions(hasTimestamps: true)
        for j in 0..<13 { uneven.append(user: "a", item: "i\(j)", weight: 1, timestamp: Double(j)) }
        for j in 0..<3 { uneven.append(user: "b", item: "i\(j)", weight: 1, timestamp: Double(j)) }
        let (_, held) = try Splitter.split(uneven, .temporal(testFraction: 0.2))
        XCTAssertEqual(held.count, 2 + 1)
    }

    /// Held-out users take all their interactions; a random share per user keeps every user
    /// on both sides, seeded.
    func testUserAndRandomPerUserSplits() throws {
        let data = makeData()
        let (train, test) = try Splitter.split(data, .users(testFraction: 0.25, seed: 4))
        XCTAssertEqual(train.count + test.count, data.count)
        let testUsers = Set(test.userIndex), trainUsers = Set(train.userIndex)
        XCTAssertTrue(testUsers.isDisjoint(with: trainUsers))
        XCTAssertEqual(testUsers.count, 5, "a quarter of the 21 users, rounded")
        for u in testUsers { XCTAssertEqual(test.userIndex.filter { $0 == u }.count, data.userIndex.filter { $0 == u }.count) }
        let (again, _) = try Splitter.split(data, .users(testFraction: 0.25, seed: 4))
        XCTAssertEqual(again, train)

        // Never all users nor none (with two or more).
        var two = Interactions()
        two.append(user: "a", item: "x", weight: 1, timestamp: nil)
        two.append(user: "b", item: "x", weight: 1, timestamp: nil)
        for fraction in [0.01, 0.75, 0.99] {
            let (t, h) = try Splitter.split(two, .users(testFraction: fraction, seed: 1))
            XCTAssertEqual([t.count, h.count], [1, 1], "\(fraction)")
        }

        let (kept, held) = try Splitter.split(data, .randomPerUser(testFraction: 0.25, seed: 4))
        XCTAssertEqual(kept.count + held.count, data.count)
        XCTAssertEqual(held.count, 20 * 2, "⌊0.25 · 10⌋ of each ten; the lonely user keeps its one")
        XCTAssertEqual(Set(held.userIndex).count, 20)
        let (_, heldAgain) = try Splitter.split(data, .randomPerUser(testFraction: 0.25, seed: 4))
        XCTAssertEqual(heldAgain, held)
        let (_, heldOther) = try Splitter.split(data, .randomPerUser(testFraction: 0.25, seed: 5))
        XCTAssertNotEqual(heldOther, held)
    }

    func testLeaveKOutAndRandomSplits() throws {
        let data = makeData()
        let (_, test) = try Splitter.split(data, .leaveKOut(k: 1, seed: 3))
        XCTAssertEqual(test.count, 20)
        let (trainA, testA) = try Splitter.split(data, .random(testFraction: 0.3, seed: 9))
        let (trainB, testB) = try Splitter.split(data, .random(testFraction: 0.3, seed: 9))
        XCTAssertEqual(testA, testB, "seeded")
        XCTAssertEqual(trainA, trainB)
        XCTAssertEqual(Double(testA.count) / Double(data.count), 0.3, accuracy: 0.08)
        XCTAssertThrowsError(try Splitter.split(data, .random(testFraction: 1.5, seed: 1)))
    }

    func testCatalogReadsRecBoleItemFile() throws {
        let path = NSTemporaryDirectory() + "unfold-items-\(UUID().uuidString).item"
        var bytes = Array("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n1\tToy Story\t1995\tAnimation Children's Comedy\n2\tCaf".utf8)
        bytes += [0xE9]  // Latin-1 é
        bytes += Array("\t1994\tDrama\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let catalog = try ItemCatalog.read(path: path)
        XCTAssertEqual(catalog["1"], .init(title: "Toy Story", categories: ["Animation", "Children's", "Comedy"]))
        XCTAssertEqual(catalog["2"]?.title, "Café")
    }

    func testGeneratorIsSeededAndPlantsGroups() throws {
        let generator = SyntheticGenerator(users: 400, items: 200, interactions: 20_000, groups: 4, inGroupProbability: 0.9, seed: 11)
        let a = try generator.generate(), b = try generator.generate()
        XCTAssertEqual(a.interactions, b.interactions)
        XCTAssertEqual(a.interactions.count, 20_000)
        var inGroup = 0
        for k in 0..<a.interactions.count where a.userGroups[Int(a.interactions.userIndex[k])] == a.itemGroups[Int(a.interactions.itemIndex[k])] {
            inGroup += 1
        }
        // 0.9 in group, plus a quarter of the 0.1 drawn from the whole catalogue.
        XCTAssertEqual(Double(inGroup) / 20_000, 0.9 + 0.1 / 4, accuracy: 0.01)
        // Power-law popularity: the most popular item is far above the median.
        let counts = a.interactions.itemCounts().sorted()
        XCTAssertGreaterThan(counts.last!, 5 * counts[counts.count / 2])
        XCTAssertThrowsError(try SyntheticGenerator(users: 1, items: 1, interactions: 1, groups: 3).generate())
    }
}
