import ChatProtocol
import Testing

@Suite("SanctionDuration")
struct SanctionDurationTests {
    @Test(arguments: [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("7d", 604_800),
        ("1w", 604_800),
        ("1h30m", 5400),
        ("1d2h3m4s", 93_784),
        ("0h30m", 1800),
        ("90m", 5400),
        ("9m12s", 552),
        ("30s30s", 60),
        ("10", 10),          // a bare number is seconds
        ("1", 1),
        ("007", 7),
        ("86400", 86_400),
    ] as [(String, Int64)])
    func parse_acceptsModeratorDurations(text: String, seconds: Int64) {
        #expect(SanctionDuration.parse(text) == seconds)
    }

    @Test(arguments: [
        "10x", "0", "-5", "", "0s", "0m0s", "s", "m10", "1h30", "1.5h", "10 m", " 10s", "10s ", "10S", "1H",
        "abc", "--purge", "1h-30m", "h1", "١٠s",     // Arabic-Indic digits are not ASCII digits
        "99999999999999999999",                        // does not fit Int64
        "999999999999999999d",                         // overflows when scaled
        "9223372036854775807s1s",                      // overflows when summed
    ])
    func parse_refusesAnythingElse(text: String) {
        #expect(SanctionDuration.parse(text) == nil)
    }

    @Test(arguments: [
        (0, "0s"),
        (-5, "0s"),
        (1, "1s"),
        (45, "45s"),
        (59, "59s"),
        (60, "1m"),
        (61, "1m 1s"),
        (552, "9m 12s"),
        (3599, "59m 59s"),
        (3600, "1h"),
        (5400, "1h 30m"),
        (7200, "2h"),
        (7230, "2h"),          // only the two largest units: the seconds go
        (7500, "2h 5m"),
        (86_399, "23h 59m"),
        (86_400, "1d"),
        (90_000, "1d 1h"),
        (3 * 86_400 + 4 * 3600, "3d 4h"),
        (3 * 86_400 + 4 * 3600 + 59 * 60 + 59, "3d 4h"),
        (604_800, "7d"),
        (3 * 86_400 + 59, "3d"), // a zero middle unit is left out, and nothing smaller is shown
    ] as [(Int64, String)])
    func format_showsTheTwoLargestUnits(seconds: Int64, text: String) {
        #expect(SanctionDuration.format(seconds: seconds) == text)
    }

    @Test(arguments: [1, 30, 60, 552, 3600, 5400, 7500, 86_400, 90_000, 363_600] as [Int64])
    func format_readsBackThroughParse_whenTwoUnitsSuffice(seconds: Int64) {
        let text = SanctionDuration.format(seconds: seconds).split(separator: " ").joined()
        #expect(SanctionDuration.parse(text) == seconds)
    }
}
