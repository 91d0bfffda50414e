import ChatCore
import Testing

@Suite("History")
struct HistoryTests {
    static func entry(_ n: Int, from address: String = "10.0.0.1") -> History.Entry {
        History.Entry(unixSeconds: Int64(n), text: "line \(n)", address: ip(address))
    }

    static func texts(_ history: History) -> [String] { history.entries.map(\.text) }

    @Test(arguments: [(1, 0), (3, 2), (3, 3), (3, 4), (3, 7), (5, 100), (1, 5)] as [(Int, Int)])
    func append_keepsTheLastLimitLines_oldestFirst(limit: Int, appended: Int) {
        var history = History(limit: limit)
        for n in 0..<appended { history.append(Self.entry(n)) }
        let expected = (max(0, appended - limit)..<appended).map { "line \($0)" }
        #expect(Self.texts(history) == expected)
        #expect(history.count == expected.count)
        #expect(history.limit == limit)
    }

    @Test(arguments: [0, -3])
    func limitZeroOrLess_keepsNothing(limit: Int) {
        var history = History(limit: limit, entries: [Self.entry(1)])
        history.append(Self.entry(2))
        #expect(history.entries.isEmpty)
        #expect(history.limit == 0)
    }

    @Test func init_withMoreEntriesThanTheLimit_keepsTheNewest() {
        let history = History(limit: 2, entries: (1...5).map { Self.entry($0) })
        #expect(Self.texts(history) == ["line 4", "line 5"])
    }

    @Test func purge_removesEveryLineFromTheRange_keepsTheOrder_andCounts() throws {
        var history = History(limit: 10)
        history.append(Self.entry(1, from: "10.0.0.1"))
        history.append(Self.entry(2, from: "10.0.0.2"))
        history.append(Self.entry(3, from: "2001:db8::1"))
        history.append(Self.entry(4, from: "10.0.0.1"))
        history.append(Self.entry(5, from: "2001:db8:ffff::9"))
        history.append(Self.entry(6, from: "10.0.1.1"))
        #expect(history.purge(try #require(IPRange(parsing: "2001:db8::/32"))) == 2)
        #expect(Self.texts(history) == ["line 1", "line 2", "line 4", "line 6"])
        #expect(history.purge(try #require(IPRange(parsing: "10.0.0.1"))) == 2)
        #expect(Self.texts(history) == ["line 2", "line 6"])
        #expect(history.purge(try #require(IPRange(parsing: "192.0.2.0/24"))) == 0)
        #expect(Self.texts(history) == ["line 2", "line 6"])
        #expect(history.purge(try #require(IPRange(parsing: "0.0.0.0/0"))) == 2)
        #expect(history.entries.isEmpty)
    }

    @Test func purge_afterTheRingWrapped_thenAppending_staysBoundedAndOrdered() throws {
        var history = History(limit: 4)
        for n in 1...6 { history.append(Self.entry(n, from: n.isMultiple(of: 2) ? "10.0.0.2" : "10.0.0.1")) }
        #expect(Self.texts(history) == ["line 3", "line 4", "line 5", "line 6"])
        #expect(history.purge(try #require(IPRange(parsing: "10.0.0.2"))) == 2)
        #expect(Self.texts(history) == ["line 3", "line 5"])
        for n in 7...10 { history.append(Self.entry(n)) }
        #expect(Self.texts(history) == ["line 7", "line 8", "line 9", "line 10"])
        #expect(history.count == 4)
    }

    @Test func resize_keepsTheNewestLines_andTheNewLimit() {
        var history = History(limit: 5, entries: (1...5).map { Self.entry($0) })
        history.resize(to: 2)
        #expect(Self.texts(history) == ["line 4", "line 5"])
        history.append(Self.entry(6))
        #expect(Self.texts(history) == ["line 5", "line 6"])
        history.resize(to: 4)
        history.append(Self.entry(7))
        history.append(Self.entry(8))
        history.append(Self.entry(9))
        #expect(Self.texts(history) == ["line 6", "line 7", "line 8", "line 9"])
        history.resize(to: 0)
        history.append(Self.entry(10))
        #expect(history.entries.isEmpty)
    }

    @Test(arguments: [
        (0, "[history 00:00:00Z] hi"),
        (59, "[history 00:00:59Z] hi"),
        (3599, "[history 00:59:59Z] hi"),
        (43_200 + 5 * 60 + 33, "[history 12:05:33Z] hi"),
        (86_399, "[history 23:59:59Z] hi"),
        (86_400, "[history 00:00:00Z] hi"),
        (1_700_000_000, "[history 22:13:20Z] hi"),   // 2023-11-14T22:13:20Z
        (-1, "[history 23:59:59Z] hi"),               // before the epoch, still a time of day
    ] as [(Int64, String)])
    func render_showsTheUTCTimeOfDay(unixSeconds: Int64, text: String) {
        #expect(History.render(History.Entry(unixSeconds: unixSeconds, text: "hi", address: ip("10.0.0.1"))) == text)
    }
}
